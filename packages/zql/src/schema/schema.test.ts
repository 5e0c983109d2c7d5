import type {ReadonlyJSONValue} from '@zync/shared';
import {describe, expect, expectTypeOf, test} from 'vitest';
import {schema} from '../../test/test-schema.ts';
import type {Row} from '../query/query.ts';
import {boolean, json, number, string} from './column.ts';
import {relationships} from './relationships.ts';
import {createSchema, legacyMutatorsEnabled, legacyQueriesEnabled} from './schema.ts';
import {table, type TableSchema} from './table.ts';

describe('createSchema', () => {
  test('is plain, frozen, JSON-able data keyed by table name', () => {
    expect(Object.keys(schema.tables)).toEqual(['user', 'issue', 'label', 'issueLabel', 'comment']);
    expect(Object.isFrozen(schema)).toBe(true);
    expect(Object.isFrozen(schema.tables.issue)).toBe(true);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema.tables.issue).toEqual({
      name: 'issue',
      serverName: 'issues',
      columns: {
        id: {type: 'string', optional: false},
        title: {type: 'string', optional: false},
        open: {type: 'boolean', optional: false},
        ownerID: {type: 'string', optional: false, serverName: 'owner_id'},
        orgID: {type: 'string', optional: false},
        priority: {type: 'number', optional: true},
        meta: {type: 'json', optional: true},
        created: {type: 'number', optional: false},
      },
      primaryKey: ['id'],
    });
    // No class instances anywhere: the cache may load this from another module copy.
    const protos = new Set<unknown>();
    const walk = (v: unknown) => {
      if (v && typeof v === 'object') {
        protos.add(Object.getPrototypeOf(v));
        Object.values(v).forEach(walk);
      }
    };
    walk(schema);
    expect([...protos].every(p => p === Object.prototype || p === Array.prototype)).toBe(true);
  });

  test('relationships are plain hops; two-hop goes through the junction', () => {
    expect(schema.relationships.issue.owner).toEqual([
      {sourceField: ['ownerID'], destField: ['id'], destSchema: 'user', cardinality: 'one'},
    ]);
    expect(schema.relationships.issue.labels.map(h => h.destSchema)).toEqual([
      'issueLabel',
      'label',
    ]);
  });

  test('without flags CRUD mutators and query roots are enabled', () => {
    expect(legacyQueriesEnabled(schema)).toBe(true);
    expect(legacyMutatorsEnabled(schema)).toBe(true);
    const s = createSchema({
      tables: [table('t').columns({id: string()}).primaryKey('id')],
      enableLegacyMutators: false,
    });
    expect(legacyMutatorsEnabled(s)).toBe(false);
    expect(legacyQueriesEnabled(s)).toBe(true);
    expect(s.enableLegacyMutators).toBe(false);
  });

  test('builders are immutable', () => {
    const base = string();
    const opt = base.optional();
    expect(base.schema).toEqual({type: 'string', optional: false});
    expect(opt.schema).toEqual({type: 'string', optional: true});
    expect(opt.from('x').schema).toEqual({type: 'string', optional: true, serverName: 'x'});
    const t = table('a');
    t.from('b');
    expect(
      (t.columns({id: string()}).primaryKey('id').schema as TableSchema).serverName,
    ).toBeUndefined();
  });

  test('misuse is a TypeError at once', () => {
    const t = table('t').columns({id: string()});
    expect(() => t.primaryKey('nope' as 'id')).toThrow(TypeError);
    expect(() => createSchema({tables: [t.primaryKey('id'), t.primaryKey('id')]})).toThrow(
      /defined twice/,
    );
    expect(() => createSchema({tables: [t]})).toThrow(/no primary key/);
    const other = table('o').columns({id: string(), tID: string()}).primaryKey('id');
    const bad = relationships(other, ({one}) => ({
      t: one({sourceField: ['nope' as 'id'], destField: ['id'], destSchema: t.primaryKey('id')}),
    }));
    expect(() => createSchema({tables: [t.primaryKey('id'), other], relationships: [bad]})).toThrow(
      /"nope" is not a column of "o"/,
    );
    const dangling = relationships(other, ({one}) => ({
      t: one({sourceField: ['tID'], destField: ['id'], destSchema: t.primaryKey('id')}),
    }));
    expect(() => createSchema({tables: [other], relationships: [dangling]})).toThrow(
      /unknown table "t"/,
    );
    expect(() => table('')).toThrow(TypeError);
    expect(() => table('x').columns({a: 1 as never})).toThrow(/column builder/);
  });

  test('Row types are exact: optional columns are T | null, custom types kept', () => {
    type Issue = Row<typeof schema.tables.issue>;
    expectTypeOf<Issue>().toEqualTypeOf<{
      readonly id: string;
      readonly title: string;
      readonly open: boolean;
      readonly ownerID: string;
      readonly orgID: string;
      readonly priority: number | null;
      readonly meta: {tags: string[]} | null;
      readonly created: number;
    }>();
    expectTypeOf<Row<typeof schema.tables.user>['role']>().toEqualTypeOf<'admin' | 'member'>();
    const t = table('t')
      .columns({a: boolean(), b: json().optional(), c: number<1 | 2>()})
      .primaryKey('a');
    expect(t.schema.primaryKey).toEqual(['a']);
    expectTypeOf<Row<typeof t.schema>>().toEqualTypeOf<{
      readonly a: boolean;
      readonly b: ReadonlyJSONValue | null;
      readonly c: 1 | 2;
    }>();
    expectTypeOf(schema.tables.issue.primaryKey).toEqualTypeOf<readonly ['id']>();
  });
});
