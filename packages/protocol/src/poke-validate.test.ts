import fc from 'fast-check';
import * as v from 'valibot';
import {describe, expect, test} from 'vitest';
import {ProtocolError} from './error.ts';
import {decodeDownstream} from './frames.ts';
import {parsePokeBody, parsePokePartBody} from './poke-validate.ts';
import {pokeBodySchema, pokePartBodySchema, queryErrorSchema} from './poke.ts';

type Obj = Record<string, unknown>;

/** Sets an own enumerable property, even `__proto__`. */
function define(obj: object, key: string | number, value: unknown): void {
  Object.defineProperty(obj, key, {value, enumerable: true, writable: true, configurable: true});
}

/** Deep copy of plain objects and arrays that keeps own `__proto__` keys and functions. */
function clone(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const out = Array.isArray(x) ? [] : {};
  for (const key of Object.keys(x)) define(out, key, clone((x as Obj)[key]));
  return out;
}

const keyArb = fc.oneof(
  fc.constantFrom(
    'op',
    'table',
    'value',
    'columns',
    'values',
    'id',
    'hash',
    'kind',
    'message',
    'details',
    'pokeID',
    'baseVersion',
    'version',
    'rows',
    'gotQueries',
    'lastMutationIDChanges',
    'queryErrors',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '0',
  ),
  fc.string({maxLength: 5}),
);

const rowArb = fc.oneof(
  {weight: 6, arbitrary: fc.dictionary(keyArb, fc.jsonValue({maxDepth: 2}), {maxKeys: 4})},
  {weight: 1, arbitrary: fc.array(fc.jsonValue({maxDepth: 1}), {maxLength: 3})},
);

const putsArb = fc.uniqueArray(keyArb, {maxLength: 4}).chain(columns =>
  fc.record({
    op: fc.constant('puts'),
    table: fc.string({maxLength: 4}),
    columns: fc.constant(columns),
    values: fc.array(
      fc.array(fc.jsonValue({maxDepth: 1}), {
        minLength: columns.length,
        maxLength: columns.length,
      }),
      {maxLength: 3},
    ),
  }),
);

const rowOpArb = fc.oneof(
  fc.record({op: fc.constant('put'), table: fc.string({maxLength: 4}), value: rowArb}),
  putsArb,
  fc.record({op: fc.constant('del'), table: fc.string({maxLength: 4}), id: rowArb}),
  fc.constant({op: 'clear'}),
);

const gotQueryArb = fc.oneof(
  fc.record({op: fc.constantFrom('put', 'del'), hash: fc.string({maxLength: 4})}),
  fc.constant({op: 'clear'}),
);

const queryErrorArb = fc.record(
  {
    hash: fc.string({maxLength: 4}),
    kind: fc.constantFrom(...queryErrorSchema.entries.kind.options),
    message: fc.string({maxLength: 4}),
    details: fc.jsonValue({maxDepth: 2}),
  },
  {requiredKeys: ['hash', 'kind', 'message']},
);

const pokeArb = fc.record(
  {
    pokeID: fc.string({maxLength: 4}),
    baseVersion: fc.option(fc.string({maxLength: 4}), {nil: null}),
    version: fc.string({maxLength: 4}),
    rows: fc.array(rowOpArb, {maxLength: 5}),
    gotQueries: fc.array(gotQueryArb, {maxLength: 3}),
    lastMutationIDChanges: fc.dictionary(
      keyArb,
      fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 60)),
      {maxKeys: 3},
    ),
    queryErrors: fc.array(queryErrorArb, {maxLength: 2}),
  },
  {
    requiredKeys: [
      'pokeID',
      'baseVersion',
      'version',
      'rows',
      'gotQueries',
      'lastMutationIDChanges',
    ],
  },
);

const badValueArb = fc.oneof(
  fc.jsonValue({maxDepth: 2}),
  fc.constantFrom<unknown>(
    undefined,
    null,
    -1,
    -0,
    0.5,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    '',
    'put',
    'del',
    'clear',
    'puts',
    'refused',
    [],
    {},
    {op: 'put'},
    {op: 'clear'},
    {op: 'put', table: 't', value: {}},
    {op: 'del', hash: 'h'},
    () => 1,
  ),
);

/** One mutation: at the `at`-th container of the tree (depth-first), do `kind`. */
const mutationArb = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'delete', 'add', 'replaceSelf'),
  key: keyArb,
  value: badValueArb,
});
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function containers(x: unknown, out: object[]): object[] {
  if (typeof x === 'object' && x !== null) {
    out.push(x);
    for (const value of Object.values(x)) containers(value, out);
  }
  return out;
}

function mutate(root: unknown, m: Mutation): unknown {
  // The constants in badValueArb are shared between runs: never insert them themselves.
  const value = clone(m.value);
  const all = containers(root, []);
  if (all.length === 0) return root;
  if (m.kind === 'replaceSelf' && m.at % (all.length + 1) === all.length) return value;
  const target = all[m.at % all.length] as Obj;
  const keys = Object.keys(target);
  const existing = keys.length ? keys[m.at % keys.length] : undefined;
  switch (m.kind) {
    case 'delete':
      if (existing !== undefined) {
        if (Array.isArray(target)) target.splice(Number(existing), 1);
        else delete target[existing];
      }
      break;
    case 'add':
      // JSON.parse never makes arrays with named properties (valibot would drop them).
      if (Array.isArray(target)) target.push(value);
      else define(target, m.key, value);
      break;
    default:
      if (existing !== undefined) define(target, existing, value);
  }
  return root;
}

/**
 * Deep equality on own enumerable keys, array-ness and prototypes. (toStrictEqual compares
 * `.constructor`, which a JSON object may hold as a plain key.)
 */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keys = Object.keys(a);
  const other = new Set(Object.keys(b));
  if (keys.length !== other.size || !keys.every(k => other.has(k))) return false;
  return keys.every(k => same((a as Obj)[k], (b as Obj)[k]));
}

function fastResult(x: unknown): {success: true; output: unknown} | {success: false} {
  try {
    return {success: true, output: parsePokeBody(x)};
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).kind).toBe('InvalidMessage');
    expect((e as ProtocolError).message).toMatch(/^Invalid poke frame( at .*)?: expected /s);
    return {success: false};
  }
}

function expectSameAsValibot(x: unknown): boolean {
  const slow = v.safeParse(pokeBodySchema, clone(x));
  const fast = fastResult(clone(x));
  expect(fast.success).toBe(slow.success);
  if (slow.success && fast.success) expect(same(fast.output, slow.output)).toBe(true);
  return slow.success;
}

describe('parsePokeBody', () => {
  test('accepts every valid poke body, with the same output as valibot', () => {
    fc.assert(
      fc.property(pokeArb, body => {
        expect(expectSameAsValibot(body)).toBe(true);
      }),
      {numRuns: 2000},
    );
  });

  test('accepts a mutated poke body iff valibot does', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(
        pokeArb,
        fc.array(mutationArb, {minLength: 1, maxLength: 3}),
        (body, mutations) => {
          let x: unknown = clone(body);
          for (const m of mutations) x = mutate(x, m);
          if (expectSameAsValibot(x)) accepted++;
          else rejected++;
        },
      ),
      {numRuns: 10_000},
    );
    // Both outcomes are well represented.
    expect(accepted).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(5000);
  });

  test('agrees on arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), x => {
        expectSameAsValibot(x);
      }),
      {numRuns: 1000},
    );
  });

  test('keeps valibot output for records given as arrays or with skipped keys', () => {
    const body = JSON.parse(
      '{"pokeID":"p","baseVersion":null,"version":"1","rows":[' +
        '{"op":"put","table":"t","value":[1,2]},' +
        '{"op":"del","table":"t","id":{"id":1,"__proto__":{"x":1},"constructor":2}}],' +
        '"gotQueries":[],"lastMutationIDChanges":{"c":1,"prototype":-1}}',
    ) as unknown;
    expectSameAsValibot(body);
    const out = parsePokeBody(body);
    expect(out.rows).toStrictEqual([
      {op: 'put', table: 't', value: {0: 1, 1: 2}},
      {op: 'del', table: 't', id: {id: 1}},
    ]);
    expect(out.lastMutationIDChanges).toStrictEqual({c: 1});
  });

  test('puts: unique column names, one value per column in each row', () => {
    const base = {
      pokeID: 'p',
      baseVersion: null,
      version: '1',
      gotQueries: [],
      lastMutationIDChanges: {},
    };
    const puts = (columns: unknown, values: unknown) => ({
      ...base,
      rows: [{op: 'puts', table: 't', columns, values}],
    });
    const ok = puts(
      ['a', 'b'],
      [
        [1, 'x'],
        [2, {y: [null]}],
        [null, true],
      ],
    );
    expect(expectSameAsValibot(ok)).toBe(true);
    expect(expectSameAsValibot(puts([], [[], []]))).toBe(true);
    const bad: [unknown, string][] = [
      [puts(['a', 'a'], []), 'rows.0.columns: expected column names without duplicates'],
      [puts(['a', 'b'], [[1, 2], [3]]), 'rows.0.values.1: expected one value per column'],
      [puts(['a'], [[1, 2]]), 'rows.0.values.0: expected one value per column'],
      [puts(['a', 1], []), 'rows.0.columns.1: expected string'],
      [puts(['a'], [1]), 'rows.0.values.0: expected Array'],
      [puts(['a'], {}), 'rows.0.values: expected Array'],
    ];
    for (const [body, message] of bad) {
      expect(expectSameAsValibot(body)).toBe(false);
      expect(() => parsePokeBody(clone(body))).toThrow(`Invalid poke frame at ${message}`);
    }
  });

  test('decodeDownstream reports the path and the expectation, never the value', () => {
    const poke = {
      pokeID: 'p',
      baseVersion: null,
      version: '1',
      rows: [{op: 'put', table: 't', value: {a: 1}}],
      gotQueries: [],
      lastMutationIDChanges: {c1: 3},
    };
    expect(decodeDownstream(JSON.stringify(['poke', poke]))).toStrictEqual(['poke', poke]);
    const cases: [unknown, string][] = [
      [{...poke, rows: [{op: 'put', table: 'secret-table', value: 'secret'}]}, 'rows.0.value'],
      [{...poke, rows: [{op: 'secret'}]}, 'rows.0.op'],
      [{...poke, lastMutationIDChanges: {c1: -12345}}, 'lastMutationIDChanges.c1'],
      [{...poke, lastMutationIDChanges: {c1: 1.2345}}, 'lastMutationIDChanges.c1'],
      [{...poke, version: 12345}, 'version'],
      [{...poke, extra: 'secret'}, 'extra'],
    ];
    for (const [body, path] of cases) {
      let error: unknown;
      try {
        decodeDownstream(JSON.stringify(['poke', body]));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProtocolError);
      const message = (error as ProtocolError).message;
      expect((error as ProtocolError).kind).toBe('InvalidMessage');
      expect(message).toContain(`Invalid poke frame at ${path}: expected `);
      expect(message).not.toMatch(/secret|12345/);
    }
  });
});

const pokePartArb = fc.record({
  pokeID: fc.string({maxLength: 4}),
  rows: fc.array(rowOpArb, {maxLength: 5}),
});

function expectPartSameAsValibot(x: unknown): boolean {
  const slow = v.safeParse(pokePartBodySchema, clone(x));
  let fast: {success: true; output: unknown} | {success: false};
  try {
    fast = {success: true, output: parsePokePartBody(clone(x))};
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).message).toMatch(/^Invalid pokePart frame( at .*)?: expected /s);
    fast = {success: false};
  }
  expect(fast.success).toBe(slow.success);
  if (slow.success && fast.success) expect(same(fast.output, slow.output)).toBe(true);
  return slow.success;
}

describe('parsePokePartBody', () => {
  test('accepts a (mutated) poke part iff valibot does, with the same output', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(pokePartArb, fc.array(mutationArb, {maxLength: 2}), (body, mutations) => {
        let x: unknown = clone(body);
        for (const m of mutations) x = mutate(x, m);
        if (expectPartSameAsValibot(x)) accepted++;
        else rejected++;
      }),
      {numRuns: 5000},
    );
    expect(accepted).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(1000);
  });

  test('a body from JSON.parse (fromJSON) is accepted iff valibot accepts it', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(pokePartArb, fc.array(mutationArb, {maxLength: 2}), (body, mutations) => {
        let x: unknown = clone(body);
        for (const m of mutations) x = mutate(x, m);
        const text = JSON.stringify(x);
        if (text === undefined) return;
        const slow = v.safeParse(pokePartBodySchema, JSON.parse(text));
        let ok: boolean;
        try {
          const out = parsePokePartBody(JSON.parse(text), true);
          ok = true;
          if (slow.success) expect(same(out, slow.output)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          ok = false;
        }
        expect(ok).toBe(slow.success);
        if (ok) accepted++;
        else rejected++;
      }),
      {numRuns: 1500},
    );
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(500);
  });

  test('without fromJSON, a value JSON cannot hold in a puts row is refused', () => {
    const part = (value: unknown) => ({
      pokeID: 'p',
      rows: [{op: 'puts', table: 't', columns: ['a'], values: [[1], [value]]}],
    });
    expect(() => parsePokePartBody(part(undefined))).toThrow(
      'Invalid pokePart frame at rows.0.values.1.0: expected a JSON value',
    );
    expect(() => parsePokePartBody(part(() => 1))).toThrow(/at rows\.0\.values\.1\.0/);
    expect(parsePokePartBody(part(null)).rows).toHaveLength(1);
  });

  test('decodeDownstream validates parts and names the frame type in errors', () => {
    const part = {pokeID: 'p', rows: [{op: 'clear'}, {op: 'put', table: 't', value: {a: 1}}]};
    expect(decodeDownstream(JSON.stringify(['pokePart', part]))).toStrictEqual(['pokePart', part]);
    expect(() =>
      decodeDownstream(JSON.stringify(['pokePart', {...part, rows: [{op: 'put', table: 't'}]}])),
    ).toThrow('Invalid pokePart frame at rows.0.value: expected key "value"');
    expect(() => decodeDownstream(JSON.stringify(['pokePart', {...part, gotQueries: []}]))).toThrow(
      'Invalid pokePart frame at gotQueries: expected no such key',
    );
  });
});
