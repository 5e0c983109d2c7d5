import type {AST} from '@zync/protocol';
import {describe, expect, test} from 'vitest';
import {createBuilder, newQuery, withDelegate} from './query-impl.ts';
import type {QueryDelegate} from './delegate.ts';
import {escapeLike} from './escape-like.ts';
import {hashAST} from './ast.ts';
import {schema} from '../../test/test-schema.ts';

const b = createBuilder(schema);

describe('query builder', () => {
  test('a root orders by primary key and its AST is frozen, JSON-safe data', () => {
    const q = b.issue;
    expect(q.ast).toEqual({kind: 'query', table: 'issue', orderBy: [['id', 'asc']]});
    expect(Object.isFrozen(q.ast)).toBe(true);
    expect(Object.isFrozen(q.ast.orderBy)).toBe(true);
    expect(JSON.parse(JSON.stringify(q.ast))).toEqual(q.ast);
    const junction = b.issueLabel;
    expect(junction.ast.orderBy).toEqual([
      ['issueID', 'asc'],
      ['labelID', 'asc'],
    ]);
  });

  test('every call returns a new query; the old one is unchanged', () => {
    const q = b.issue;
    const q2 = q.where('open', true);
    expect(q2).not.toBe(q);
    expect(q.ast.where).toBeUndefined();
    expect(q2.ast.where).toEqual({
      kind: 'simple',
      op: '=',
      left: {kind: 'column', name: 'open'},
      right: {kind: 'literal', value: true},
    });
  });

  test('where forms: (col, value), (col, op, value), chained = and', () => {
    const ops = [
      '=',
      '!=',
      '<',
      '<=',
      '>',
      '>=',
      'LIKE',
      'NOT LIKE',
      'ILIKE',
      'NOT ILIKE',
    ] as const;
    for (const op of ops) {
      expect(b.issue.where('title', op, 'x').ast.where).toMatchObject({op});
    }
    expect(b.issue.where('ownerID', 'IN', ['a', 'b']).ast.where).toMatchObject({
      op: 'IN',
      right: {kind: 'literal', value: ['a', 'b']},
    });
    expect(b.issue.where('ownerID', 'NOT IN', []).ast.where).toMatchObject({op: 'NOT IN'});
    expect(b.issue.where('priority', 'IS', null).ast.where).toMatchObject({op: 'IS'});
    expect(b.issue.where('priority', 'IS NOT', null).ast.where).toMatchObject({op: 'IS NOT'});
    const q = b.issue.where('open', true).where('priority', '>', 2);
    expect(q.ast.where).toEqual({
      kind: 'and',
      conditions: [
        {
          kind: 'simple',
          op: '=',
          left: {kind: 'column', name: 'open'},
          right: {kind: 'literal', value: true},
        },
        {
          kind: 'simple',
          op: '>',
          left: {kind: 'column', name: 'priority'},
          right: {kind: 'literal', value: 2},
        },
      ],
    });
  });

  test('where with the expression builder; not flips operators and applies De Morgan', () => {
    const q = b.issue.where(({cmp, or, not, and}) =>
      not(
        or(cmp('title', 'LIKE', 'a%'), and(cmp('priority', '<', 3), cmp('ownerID', 'IN', ['u']))),
      ),
    );
    expect(q.ast.where).toEqual({
      kind: 'and',
      conditions: [
        {
          kind: 'simple',
          op: 'NOT LIKE',
          left: {kind: 'column', name: 'title'},
          right: {kind: 'literal', value: 'a%'},
        },
        {
          kind: 'or',
          conditions: [
            {
              kind: 'simple',
              op: '>=',
              left: {kind: 'column', name: 'priority'},
              right: {kind: 'literal', value: 3},
            },
            {
              kind: 'simple',
              op: 'NOT IN',
              left: {kind: 'column', name: 'ownerID'},
              right: {kind: 'literal', value: ['u']},
            },
          ],
        },
      ],
    });
    const pairs = [
      ['=', '!='],
      ['<', '>='],
      ['>', '<='],
      ['IN', 'NOT IN'],
      ['LIKE', 'NOT LIKE'],
      ['ILIKE', 'NOT ILIKE'],
      ['IS', 'IS NOT'],
    ] as const;
    for (const [a, c] of pairs) {
      const v = a === 'IN' ? ['x'] : a === 'IS' ? null : 'x';
      expect(
        b.issue.where(({cmp, not}) => not(cmp('title', a, v as never))).ast.where,
      ).toMatchObject({op: c});
      expect(
        b.issue.where(({cmp, not}) => not(cmp('title', c, v as never))).ast.where,
      ).toMatchObject({op: a});
    }
    const ex = b.issue.where(({not, exists}) => not(exists('comments')));
    expect(ex.ast.where).toMatchObject({kind: 'exists', op: 'NOT EXISTS'});
    // cmpLit compares two literals; and() is TRUE and drops out of the where.
    expect(b.issue.where(({cmpLit}) => cmpLit('a', '=', 'a')).ast.where).toMatchObject({
      left: {kind: 'literal', value: 'a'},
    });
    expect(b.issue.where(({and}) => and()).ast.where).toBeUndefined();
  });

  test('orderBy, limit, start, one', () => {
    const q = b.issue
      .orderBy('created', 'desc')
      .limit(10)
      .start({created: 5, id: 'x'}, {inclusive: true});
    expect(q.ast).toEqual({
      kind: 'query',
      table: 'issue',
      orderBy: [
        ['created', 'desc'],
        ['id', 'asc'],
      ],
      limit: 10,
      start: {row: {created: 5, id: 'x'}, exclusive: false},
    });
    expect(b.issue.start({id: 'a'}).ast.start).toEqual({row: {id: 'a'}, exclusive: true});
    expect(b.issue.orderBy('id', 'desc').ast.orderBy).toEqual([['id', 'desc']]);
    expect(b.issue.one().ast).toMatchObject({limit: 1, one: true});
    expect(b.issue.one().format).toEqual({singular: true, relationships: {}});
  });

  test('related: one and many, nested, with callbacks', () => {
    const q = b.issue
      .related('owner')
      .related('comments', c => c.orderBy('id', 'desc').limit(3).related('author'));
    expect(q.ast.related).toEqual([
      {
        kind: 'correlated',
        correlation: {parentField: ['ownerID'], childField: ['id']},
        subquery: {
          kind: 'query',
          table: 'user',
          alias: 'owner',
          one: true,
          orderBy: [['id', 'asc']],
        },
      },
      {
        kind: 'correlated',
        correlation: {parentField: ['id'], childField: ['issueID']},
        subquery: {
          kind: 'query',
          table: 'comment',
          alias: 'comments',
          orderBy: [['id', 'desc']],
          limit: 3,
          related: [
            {
              kind: 'correlated',
              correlation: {parentField: ['authorID'], childField: ['id']},
              subquery: {
                kind: 'query',
                table: 'user',
                alias: 'author',
                one: true,
                orderBy: [['id', 'asc']],
              },
            },
          ],
        },
      },
    ]);
    expect(q.format).toEqual({
      singular: false,
      relationships: {
        owner: {singular: true, relationships: {}},
        comments: {singular: false, relationships: {author: {singular: true, relationships: {}}}},
      },
    });
  });

  test('two-hop related is a hidden junction subquery', () => {
    const q = b.issue.related('labels', l => l.where('name', 'bug'));
    expect(q.ast.related).toEqual([
      {
        kind: 'correlated',
        hidden: true,
        correlation: {parentField: ['id'], childField: ['issueID']},
        subquery: {
          kind: 'query',
          table: 'issueLabel',
          alias: 'labels',
          orderBy: [
            ['issueID', 'asc'],
            ['labelID', 'asc'],
          ],
          related: [
            {
              kind: 'correlated',
              correlation: {parentField: ['labelID'], childField: ['id']},
              subquery: {
                kind: 'query',
                table: 'label',
                alias: 'labels',
                where: {
                  kind: 'simple',
                  op: '=',
                  left: {kind: 'column', name: 'name'},
                  right: {kind: 'literal', value: 'bug'},
                },
                orderBy: [['id', 'asc']],
              },
            },
          ],
        },
      },
    ]);
    expect(q.format.relationships['labels']).toEqual({singular: false, relationships: {}});
  });

  test('whereExists and exists, one- and two-hop', () => {
    const q = b.issue.whereExists('comments', c => c.where('authorID', 'u1'));
    expect(q.ast.where).toEqual({
      kind: 'exists',
      op: 'EXISTS',
      related: {
        kind: 'correlated',
        correlation: {parentField: ['id'], childField: ['issueID']},
        subquery: {
          kind: 'query',
          table: 'comment',
          alias: 'zsubq_comments',
          where: {
            kind: 'simple',
            op: '=',
            left: {kind: 'column', name: 'authorID'},
            right: {kind: 'literal', value: 'u1'},
          },
          orderBy: [['id', 'asc']],
        },
      },
    });
    const two = b.issue.whereExists('labels').ast.where;
    expect(two).toMatchObject({
      kind: 'exists',
      related: {
        correlation: {parentField: ['id'], childField: ['issueID']},
        subquery: {
          table: 'issueLabel',
          where: {
            kind: 'exists',
            related: {
              correlation: {parentField: ['labelID'], childField: ['id']},
              subquery: {table: 'label'},
            },
          },
        },
      },
    });
  });

  test('misuse throws TypeError at once', () => {
    expect(() => b.issue.where('nope' as 'id', 'x')).toThrow(
      /unknown column "nope" in table "issue"/,
    );
    expect(() => b.issue.where('id', 'LIKEISH' as '=', 'x')).toThrow(TypeError);
    expect(() => b.issue.where('id', 'IN', 'x' as never)).toThrow(/needs an array/);
    expect(() => b.issue.where(({cmp}) => cmp('nope' as 'id', 'x'))).toThrow(TypeError);
    expect(() => b.issue.orderBy('nope' as 'id', 'asc')).toThrow(TypeError);
    expect(() => b.issue.orderBy('id', 'up' as 'asc')).toThrow(TypeError);
    expect(() => b.issue.limit(-1)).toThrow(TypeError);
    expect(() => b.issue.limit(1.5)).toThrow(TypeError);
    expect(() => b.issue.related('nope' as 'owner')).toThrow(/unknown relationship "nope"/);
    expect(() => b.issue.whereExists('nope' as 'owner')).toThrow(TypeError);
    expect(() => b.issue.related('owner', () => b.issue as never)).toThrow(/query on table "user"/);
    expect(() => b.issue.start({nope: 1} as never)).toThrow(TypeError);
    expect(() => (b as unknown as Record<string, unknown>)['nope']).toThrow(/unknown table "nope"/);
    expect(() => newQuery(undefined, schema, 'nope' as 'issue')).toThrow(TypeError);
    expect(() => b.issue.where('created', new Date() as never)).toThrow(TypeError);
  });

  test('hash is stable and ignores the order of and-ed conditions', () => {
    const a = b.issue.where('open', true).where('priority', 1);
    const c = b.issue.where('priority', 1).where('open', true);
    expect(a.hash()).toBe(c.hash());
    expect(a.hash()).toMatch(/^[0-9a-f]{16}$/);
    expect(a.hash()).not.toBe(b.issue.where('open', false).where('priority', 1).hash());
    expect(hashAST(JSON.parse(JSON.stringify(a.ast)) as AST)).toBe(a.hash());
    expect(b.issue.related('owner').related('comments').hash()).toBe(
      b.issue.related('comments').related('owner').hash(),
    );
  });

  test('without a delegate run/materialize/preload throw; with one they forward', async () => {
    expect(() => b.issue.materialize()).toThrow(/needs a query from zero.query/);
    expect(() => b.issue.run()).toThrow(TypeError);
    const calls: string[] = [];
    const delegate: QueryDelegate = {
      materialize: (q, f, ttl) => {
        calls.push(`m ${q.ast.table} ${typeof f} ${String(ttl)}`);
        return 'view';
      },
      run: q => {
        calls.push(`r ${q.hash()}`);
        return Promise.resolve([]);
      },
      preload: () => ({cleanup: () => {}, complete: Promise.resolve()}),
    };
    const q = withDelegate(b.issue, delegate).where('open', true);
    expect(q.materialize('1m')).toBe('view');
    expect(q.materialize(() => 'custom', 5)).toBe('view');
    await expect(q.run()).resolves.toEqual([]);
    expect(calls).toEqual([`m issue undefined 1m`, `m issue function 5`, `r ${q.hash()}`]);
    const roots = createBuilder(schema, delegate);
    expect(roots.user.limit(1).run()).toBeInstanceOf(Promise);
  });

  test('customQueryID survives chaining', () => {
    const q = b.issue.nameAndArgs('openIssues', [1, 'a']).where('open', true).limit(2);
    expect(q.customQueryID).toEqual({name: 'openIssues', args: [1, 'a']});
    expect(b.issue.customQueryID).toBeUndefined();
  });
});

test('escapeLike escapes %, _ and backslash', () => {
  expect(escapeLike('50%_off\\now')).toBe('50\\%\\_off\\\\now');
  expect(escapeLike('plain')).toBe('plain');
});
