import {expect, test} from 'vitest';
import {defineMutator, defineMutators, mustGetMutator} from '../mutate/mutator-registry.ts';
import {createSchema} from '../schema/schema.ts';
import {string} from '../schema/column.ts';
import {table} from '../schema/table.ts';
import {createBuilder} from './query-impl.ts';
import {defineQueries, defineQuery, mustGetQuery, toQuery} from './query-registry.ts';
import type {AnyQuery} from './query.ts';
import type {StandardSchemaV1} from './standard-schema.ts';
import {InputValidationError} from './standard-schema.ts';

const schema = createSchema({tables: [table('t').columns({id: string()}).primaryKey('id')]});
const zql = createBuilder(schema);

const asyncValidator: StandardSchemaV1<string> = {
  '~standard': {version: 1, vendor: 'test', validate: v => Promise.resolve({value: v as string})},
};
const trimmed: StandardSchemaV1<string, string> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: v => (typeof v === 'string' ? {value: v.trim()} : {issues: [{message: 'a string'}]}),
  },
};

test('names are paths; the validated output reaches fn, the raw args go on the wire', () => {
  const base = defineQueries({
    a: {b: {c: defineQuery(trimmed, ({args}) => zql.t.where('id', args))}},
  });
  const qs = defineQueries(base, {a: {d: defineQuery(() => zql.t)}});
  const q = toQuery(qs.a.b.c(' x '), undefined) as unknown as AnyQuery;
  expect(q.customQueryID).toEqual({name: 'a.b.c', args: [' x ']});
  expect(JSON.stringify(q.ast.where)).toContain('"x"');
  expect((toQuery(qs.a.d(), undefined) as unknown as AnyQuery).customQueryID).toEqual({
    name: 'a.d',
    args: [],
  });
  expect(mustGetQuery(qs, 'a.b.c')).toBe(qs.a.b.c);
  expect(mustGetQuery(qs, 'a|d')).toBe(qs.a.d);
  expect(() => mustGetQuery(qs, 'a.nope')).toThrow('no query named "a.nope"');
});

test('bad args throw InputValidationError (a TypeError); async validators are refused', () => {
  const qs = defineQueries({
    q: defineQuery(trimmed, () => zql.t),
    slow: defineQuery(asyncValidator, () => zql.t),
  });
  const bad = () => toQuery(qs.q(3 as unknown as string), undefined);
  expect(bad).toThrow(InputValidationError);
  expect(bad).toThrow(TypeError);
  expect(() => toQuery(qs.slow('x'), undefined)).toThrow(
    'asynchronous validators are not supported',
  );
});

test('misuse is a TypeError that names the fix', () => {
  expect(() => defineQuery({} as never)).toThrow(TypeError);
  expect(() => defineQueries({x: (() => zql.t) as never})).toThrow('must come from defineQuery()');
  expect(() => defineQueries({'a.b': defineQuery(() => zql.t)})).toThrow('not a valid name');
  const qs = defineQueries({x: defineQuery(() => 42 as never)});
  expect(() => toQuery(qs.x(), undefined)).toThrow('createBuilder(schema)');
});

test('mutators: names are paths, fn validates and passes tx, args and ctx', async () => {
  const seen: unknown[] = [];
  const ms = defineMutators({
    ns: {deep: {m: defineMutator(trimmed, ({args, ctx, tx}) => void seen.push(args, ctx, tx))}},
  });
  const m = mustGetMutator(ms, 'ns.deep.m');
  expect(m.mutatorName).toBe('ns.deep.m');
  expect(ms.ns.deep.m(' a ').args).toBe(' a ');
  await m.fn({args: ' a ', ctx: 'c', tx: 'tx' as never});
  expect(seen).toEqual(['a', 'c', 'tx']);
  await expect(m.fn({args: 1, ctx: 'c', tx: 'tx' as never})).rejects.toThrow(InputValidationError);
});
