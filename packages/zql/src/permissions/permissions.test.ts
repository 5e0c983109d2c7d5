import type {AST, Condition} from '@zync/protocol';
import {describe, expect, test} from 'vitest';
import {FALSE, isAlwaysFalse, isAlwaysTrue, TRUE} from '../query/condition.ts';
import {createBuilder} from '../query/query-impl.ts';
import type {ExpressionBuilder} from '../query/expression.ts';
import {escapeLike} from '../query/escape-like.ts';
import {mapAST} from '../schema/name-map.ts';
import {schema, type TestSchema} from '../../test/test-schema.ts';
import {applySelectPermissions} from './apply.ts';
import {bindPermissions} from './bind.ts';
import {ANYONE_CAN, definePermissions, NOBODY_CAN, type PermissionsConfig} from './define.ts';
import {compareValues, evaluateCondition} from './evaluate.ts';

type AuthData = {
  sub: string;
  role: 'admin' | 'member';
  orgIDs: string[];
  org: {id: string; role: string};
};

// The seed's untyped form: a claim on the left of cmp.
const isAdminRule = (decodedJWT: AuthData, {cmp}: ExpressionBuilder<TestSchema, 'issue'>) =>
  (cmp as unknown as (l: unknown, op: string, r: unknown) => Condition)(
    decodedJWT.role,
    '=',
    'admin',
  );

const permissions = definePermissions<AuthData, TestSchema>(schema, () => {
  const isOwner = (a: AuthData, {cmp}: ExpressionBuilder<TestSchema, 'issue'>) =>
    cmp('ownerID', a.sub);
  const inMyOrgs = (a: AuthData, {cmp}: ExpressionBuilder<TestSchema, 'issue'>) =>
    cmp('orgID', 'IN', a.orgIDs);
  const loggedIn = (a: AuthData, {cmpLit}: ExpressionBuilder<TestSchema, 'comment'>) =>
    cmpLit(a.sub, 'IS NOT', null);
  const orgOwner = (a: AuthData, {cmpLit}: ExpressionBuilder<TestSchema, 'issue'>) =>
    cmpLit(a.org.role, '=', 'owner');
  const config: PermissionsConfig<AuthData, TestSchema> = {
    issue: {
      row: {
        select: [isAdminRule, isOwner, inMyOrgs],
        insert: [isOwner],
        update: {preMutation: [isOwner], postMutation: [isOwner, orgOwner]},
        delete: [isAdminRule],
      },
    },
    comment: {row: {select: [loggedIn], insert: ANYONE_CAN, delete: NOBODY_CAN}},
    user: {row: {select: ANYONE_CAN}},
    label: {row: {select: [(_, {exists}) => exists('nope' as never)]}},
    issueLabel: {row: {select: ANYONE_CAN}},
  };
  return config;
});

const issueRow = {id: 'i1', ownerID: 'u1', orgID: 'o1', title: 'T', open: true, priority: null};

describe('definePermissions', () => {
  test('returns a promise of plain data holding the rules', async () => {
    const p = definePermissions(schema, () => ({}));
    expect(p).toBeInstanceOf(Promise);
    const defined = await permissions;
    expect(defined.kind).toBe('zync-permissions');
    expect(defined.schema).toBe(schema);
    expect(defined.tables['issue']?.row?.select).toHaveLength(3);
  });

  test('unknown tables and non-function rules are rejected', async () => {
    await expect(definePermissions(schema, () => ({nope: {row: {}}}) as never)).rejects.toThrow(
      /unknown table "nope"/,
    );
    await expect(
      definePermissions(schema, () => Promise.resolve({issue: {row: {select: ['x']}}} as never)),
    ).rejects.toThrow(TypeError);
  });
});

describe('bindPermissions with real claims', () => {
  test('claim on the left (seed form): admin sees everything', async () => {
    const admin = bindPermissions(await permissions, {sub: 'u9', role: 'admin', orgIDs: []});
    expect(isAlwaysTrue(admin.selectCondition('issue'))).toBe(true);
    expect(isAlwaysTrue(admin.deleteCondition('issue'))).toBe(true);
  });

  test('string and array claims become row conditions', async () => {
    const member = bindPermissions(await permissions, {
      sub: 'u1',
      role: 'member',
      orgIDs: ['o2', 'o3'],
    });
    expect(member.selectCondition('issue')).toEqual({
      kind: 'or',
      conditions: [
        {
          kind: 'simple',
          op: '=',
          left: {kind: 'column', name: 'ownerID'},
          right: {kind: 'literal', value: 'u1'},
        },
        {
          kind: 'simple',
          op: 'IN',
          left: {kind: 'column', name: 'orgID'},
          right: {kind: 'literal', value: ['o2', 'o3']},
        },
      ],
    });
    const sel = member.selectCondition('issue');
    expect(evaluateCondition(sel, issueRow)).toBe(true);
    expect(evaluateCondition(sel, {...issueRow, ownerID: 'u2'})).toBe(false);
    expect(evaluateCondition(sel, {...issueRow, ownerID: 'u2', orgID: 'o3'})).toBe(true);
    expect(isAlwaysFalse(member.deleteCondition('issue'))).toBe(true);
  });

  test('nested claims and cmpLit', async () => {
    const owner = bindPermissions(await permissions, {sub: 'u2', org: {id: 'o1', role: 'owner'}});
    expect(isAlwaysTrue(owner.updatePostCondition('issue'))).toBe(true);
    expect(evaluateCondition(owner.updatePreCondition('issue'), issueRow)).toBe(false);
    expect(evaluateCondition(owner.updatePreCondition('issue'), {...issueRow, ownerID: 'u2'})).toBe(
      true,
    );
    const p = await definePermissions<{orgs: string[]}, TestSchema>(schema, () => ({
      user: {row: {select: [(a, {cmpLit}) => cmpLit(a.orgs, 'IN', ['acme', 'globex'])]}},
    }));
    expect(isAlwaysTrue(bindPermissions(p, {orgs: ['x', 'acme']}).selectCondition('user'))).toBe(
      true,
    );
    expect(isAlwaysFalse(bindPermissions(p, {orgs: ['x']}).selectCondition('user'))).toBe(true);
    expect(isAlwaysFalse(bindPermissions(p, {}).selectCondition('user'))).toBe(true);
  });

  test('a missing claim compares as null; no token is {}', async () => {
    const errors: unknown[] = [];
    const anon = bindPermissions(await permissions, undefined, {
      onRuleError: (...e) => errors.push(e),
    });
    expect(anon.authData).toEqual({});
    // cmpLit(authData.sub, 'IS NOT', null) is false for anonymous users.
    expect(isAlwaysFalse(anon.selectCondition('comment'))).toBe(true);
    // cmp('ownerID', undefined) → ownerID = null, never true; IN null → never true.
    const sel = anon.selectCondition('issue');
    expect(evaluateCondition(sel, issueRow)).toBe(false);
    expect(evaluateCondition(sel, {...issueRow, ownerID: null, orgID: null})).toBe(false);
    // authData.org.role on a missing `org` throws inside the rule: that rule denies.
    expect(evaluateCondition(anon.updatePostCondition('issue'), issueRow)).toBe(false);
    expect(errors).toHaveLength(1);
    const withSub = bindPermissions(await permissions, {sub: 'u1'});
    expect(isAlwaysTrue(withSub.selectCondition('comment'))).toBe(true);
    expect(bindPermissions(await permissions, null).authData).toEqual({});
  });

  test('ANYONE_CAN allows, NOBODY_CAN and missing policies deny', async () => {
    const b = bindPermissions(await permissions, {sub: 'u1'});
    expect(b.insertCondition('comment')).toEqual(TRUE);
    expect(b.deleteCondition('comment')).toEqual(FALSE);
    expect(b.updatePreCondition('comment')).toEqual(FALSE); // no update policy
    expect(b.selectCondition('issueLabel')).toEqual(TRUE);
    const none = bindPermissions(await definePermissions(schema, () => ({})), {sub: 'u1'});
    expect(none.selectCondition('issue')).toEqual(FALSE);
    expect(() => none.selectCondition('nope')).toThrow(/unknown table/);
  });

  test('a rule that throws denies and is reported; rules cannot change the claims', async () => {
    const errs: string[] = [];
    const b = bindPermissions(
      await permissions,
      {sub: 'u1'},
      {
        onRuleError: (table, action) => errs.push(`${table} ${action}`),
      },
    );
    expect(b.selectCondition('label')).toEqual(FALSE);
    expect(errs).toEqual(['label select']);
    const p = await definePermissions<{sub: string}, TestSchema>(schema, () => ({
      user: {row: {select: [a => (a.sub = 'evil') as never]}},
    }));
    const claims = {sub: 'u1'};
    expect(bindPermissions(p, claims).selectCondition('user')).toEqual(FALSE);
    expect(claims.sub).toBe('u1');
  });
});

describe('applySelectPermissions', () => {
  test('ANDs the select condition into every level', async () => {
    const bound = bindPermissions(await permissions, {sub: 'u1', role: 'member', orgIDs: []});
    const b = createBuilder(schema);
    const q = b.user
      .where(({exists}) => exists('ownedIssues'))
      .related('ownedIssues', i => i.related('comments').related('labels'));
    const out = applySelectPermissions(q.ast, bound);
    expect(Object.isFrozen(out)).toBe(true);
    const owner = {
      kind: 'simple',
      op: '=',
      left: {kind: 'column', name: 'ownerID'},
      right: {kind: 'literal', value: 'u1'},
    };
    // user: ANYONE_CAN adds nothing; the exists subquery on issue gets the issue rule.
    expect(out.where).toMatchObject({
      kind: 'exists',
      related: {subquery: {table: 'issue', where: owner}},
    });
    const issues = out.related![0]!.subquery;
    expect(issues.where).toEqual(owner);
    const [comments, labels] = issues.related!;
    // comment's rule is cmpLit(sub IS NOT null): folded to TRUE for a signed-in user.
    expect(comments!.subquery.where).toBeUndefined();
    const anon = applySelectPermissions(q.ast, bindPermissions(await permissions, {}));
    expect(anon.related![0]!.subquery.related![0]!.subquery.where).toEqual(FALSE);
    // junction (ANYONE_CAN) unchanged; the label level behind it denied (its rule throws).
    expect(labels!.hidden).toBe(true);
    expect(labels!.subquery.where).toBeUndefined();
    expect(labels!.subquery.related![0]!.subquery.where).toEqual(FALSE);
  });

  test('keeps existing where and works on server names', async () => {
    const bound = bindPermissions(await permissions, {sub: 'u1', orgIDs: []});
    const q = createBuilder(schema).issue.where('open', true);
    const out = applySelectPermissions(q.ast, bound);
    expect(out.where).toMatchObject({
      kind: 'and',
      conditions: [{left: {name: 'open'}}, {left: {name: 'ownerID'}}],
    });
    const serverAst: AST = {kind: 'query', table: 'issues', orderBy: [['id', 'asc']]};
    const s = applySelectPermissions(serverAst, bound, {names: 'server'});
    expect(s.table).toBe('issues');
    expect(s.where).toMatchObject({left: {kind: 'column', name: 'owner_id'}});
  });
});

describe('applySelectPermissions: rule EXISTS are server only', () => {
  test('marks the EXISTS a rule adds (nested ones too), not the query’s own', async () => {
    const defined = await definePermissions<AuthData, TestSchema>(schema, () => ({
      comment: {
        row: {
          select: [
            (a, {exists}) =>
              exists('issue', i =>
                i.where(({exists: ex}) => ex('owner', u => u.where('id', a.sub))),
              ),
          ],
        },
      },
      issue: {row: {select: [(a, {cmp}) => cmp('ownerID', a.sub)]}},
      user: {row: {select: ANYONE_CAN}},
    }));
    const bound = bindPermissions(defined, {sub: 'u1'});
    const q = createBuilder(schema).comment.whereExists('issue').related('issue');
    const out = applySelectPermissions(q.ast, bound);
    const conds = out.where?.kind === 'and' ? out.where.conditions : [];
    const [own, rule] = conds as Extract<Condition, {kind: 'exists'}>[];
    // The query's own EXISTS: filtered by issue's rule, its rows go to the client.
    expect(own?.related.serverOnly).toBeUndefined();
    expect(own?.related.subquery.where).toMatchObject({left: {name: 'ownerID'}});
    // The rule's EXISTS and the EXISTS inside it: server only, not filtered again.
    expect(rule?.related.serverOnly).toBe(true);
    const inner = rule?.related.subquery.where as Extract<Condition, {kind: 'exists'}>;
    expect(inner.related.serverOnly).toBe(true);
    expect(inner.related.subquery.table).toBe('user');
    expect(out.related?.[0]?.serverOnly).toBeUndefined();
    // The mark survives the mapping to server names.
    const server = applySelectPermissions(mapAST(q.ast, schema, 'server'), bound, {
      names: 'server',
    });
    const serverRule = (server.where as Extract<Condition, {kind: 'and'}>).conditions[1];
    expect(serverRule).toMatchObject({related: {serverOnly: true, subquery: {table: 'issues'}}});
  });
});

describe('evaluateCondition', () => {
  const col = (name: string) => ({kind: 'column', name}) as const;
  const lit = (value: string | number | boolean | null | string[]) =>
    ({kind: 'literal', value}) as const;
  const c = (
    op: Parameters<typeof compareValues>[0],
    l: string,
    v: Parameters<typeof lit>[0],
  ): Condition => ({
    kind: 'simple',
    op,
    left: col(l),
    right: lit(v),
  });

  test('comparisons with null are false except IS / IS NOT', () => {
    const row = {a: null, b: 1};
    for (const op of [
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
    ] as const) {
      expect(evaluateCondition(c(op, 'a', 'x'), row)).toBe(false);
      expect(evaluateCondition(c(op, 'b', null), row)).toBe(false);
    }
    expect(evaluateCondition(c('IS', 'a', null), row)).toBe(true);
    expect(evaluateCondition(c('IS NOT', 'a', null), row)).toBe(false);
    expect(evaluateCondition(c('IS NOT', 'b', null), row)).toBe(true);
    expect(evaluateCondition(c('IS', 'missing', null), row)).toBe(true);
    expect(evaluateCondition(c('NOT IN', 'a', ['x']), row)).toBe(false);
    expect(evaluateCondition(c('IN', 'b', ['1']), row)).toBe(false);
  });

  test('ordering, IN, NOT IN', () => {
    const row = {n: 5, s: 'm'};
    expect(evaluateCondition(c('<', 'n', 6), row)).toBe(true);
    expect(evaluateCondition(c('>=', 'n', 5), row)).toBe(true);
    expect(evaluateCondition(c('>', 's', 'a'), row)).toBe(true);
    expect(evaluateCondition(c('<', 'n', '6'), row)).toBe(false);
    expect(evaluateCondition(c('IN', 's', ['a', 'm']), row)).toBe(true);
    expect(evaluateCondition(c('NOT IN', 's', ['a']), row)).toBe(true);
    expect(compareValues('NOT IN', 's', ['a', null])).toBe(false);
    expect(compareValues('=', 1, '1')).toBe(false);
  });

  test('LIKE is case-sensitive, ILIKE is not, backslash escapes', () => {
    expect(compareValues('LIKE', 'Hello', 'H%')).toBe(true);
    expect(compareValues('LIKE', 'hello', 'H%')).toBe(false);
    expect(compareValues('ILIKE', 'hello', 'H%')).toBe(true);
    expect(compareValues('LIKE', 'abc', 'a_c')).toBe(true);
    expect(compareValues('LIKE', 'a\nc', 'a_c')).toBe(true);
    expect(compareValues('LIKE', 'abc', 'a\\_c')).toBe(false);
    expect(compareValues('LIKE', '50% off', `${escapeLike('50%')}%`)).toBe(true);
    expect(compareValues('LIKE', '500 off', `${escapeLike('50%')}%`)).toBe(false);
    expect(compareValues('LIKE', 'a.c', 'a.c')).toBe(true);
    expect(compareValues('LIKE', 'abc', 'a.c')).toBe(false);
    expect(compareValues('NOT ILIKE', 'ABC', 'abc')).toBe(false);
    expect(compareValues('LIKE', 'x\\y', escapeLike('x\\y'))).toBe(true);
  });

  test('and/or, and exists through the caller’s resolver', () => {
    const b = createBuilder(schema);
    const q = b.issue.where(({and, or, cmp, exists, not}) =>
      and(or(cmp('open', true), cmp('priority', '>', 3)), not(exists('comments'))),
    );
    const where = q.ast.where!;
    expect(() => evaluateCondition(where, issueRow)).toThrow(/existsResolver/);
    const seen: string[] = [];
    const resolver = (cond: {related: {subquery: {table: string}}}) => {
      seen.push(cond.related.subquery.table);
      return false;
    };
    expect(evaluateCondition(where, issueRow, resolver)).toBe(true);
    expect(evaluateCondition(where, {...issueRow, open: false}, resolver)).toBe(false);
    expect(evaluateCondition(where, issueRow, () => true)).toBe(false);
    expect(seen).toEqual(['comment']);
  });
});
