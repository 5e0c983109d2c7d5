import fc from 'fast-check';
import {expect, test} from 'vitest';
import {decodeDownstream, type RowValue} from '@zync/protocol';
import {
  contentHash,
  encodePokeFrame,
  encodePokePartFrame,
  type PatchRow,
  type PokeMeta,
} from './poke-encoder.ts';
import {rowKey} from './row-key.ts';

const value = fc.oneof(
  fc.string(),
  fc.integer(),
  // JSON has no -0 (it reads back as 0), and rows come from JSON-compatible values.
  fc.double({noNaN: true, noDefaultInfinity: true}).map(x => (Object.is(x, -0) ? 0 : x)),
  fc.boolean(),
  fc.constant(null),
);
const row = fc.dictionary(fc.string({minLength: 1, maxLength: 5}), value, {maxKeys: 5});
// Rows of a few tables and column shapes, so that runs of one table and columns are common.
const shapedRow = fc
  .tuple(
    fc.constantFrom(['id'], ['id', 'title'], ['title', 'id'], ['__proto__', 'x']),
    value,
    value,
  )
  .map(([cols, a, b]) => {
    const r: RowValue = {};
    for (const [i, c] of cols.entries()) {
      Object.defineProperty(r, c, {value: i === 0 ? a : b, enumerable: true, writable: true});
    }
    return r;
  });
const patchRow: fc.Arbitrary<{op: PatchRow; plain: unknown}> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom('a', 'b'), shapedRow).map(([table, r]) => ({
      op: {op: 'put', table, value: r} as const,
      plain: {op: 'put', table, value: r},
    })),
  },
  fc.tuple(fc.string(), row).map(([table, r]) => ({
    op: {op: 'put', table, value: r} as const,
    plain: {op: 'put', table, value: r},
  })),
  fc.tuple(fc.string(), row).map(([table, id]) => ({
    op: {op: 'del', table, id} as const,
    plain: {op: 'del', table, id},
  })),
  fc.constant({op: {op: 'clear'} as const, plain: {op: 'clear'}}),
);

type WireRow = {op: string; table?: string; columns?: string[]; values?: unknown[][]};

/** The rows of an encoded poke with each `puts` op written as one `put` per row. */
function expanded(rows: WireRow[]): unknown[] {
  const out: unknown[] = [];
  for (const r of rows) {
    if (r.op !== 'puts') {
      out.push(r);
      continue;
    }
    for (const values of r.values ?? []) {
      const value = {};
      for (const [i, c] of (r.columns ?? []).entries()) {
        Object.defineProperty(value, c, {value: values[i], enumerable: true, writable: true});
      }
      out.push({op: 'put', table: r.table, value});
    }
  }
  return out;
}

test('an encoded poke is the JSON of the same poke, with runs of puts as puts ops', () => {
  let runs = 0;
  fc.assert(
    fc.property(
      fc.array(patchRow, {maxLength: 20}),
      fc.option(fc.string()),
      fc.boolean(),
      (rows, base, withErrors) => {
        const meta: PokeMeta = {
          pokeID: 'p1',
          baseVersion: base,
          version: 'e:2',
          gotQueries: [{op: 'put', hash: 'q'}],
          lastMutationIDChanges: {c1: 3},
        };
        if (withErrors) meta.queryErrors = [{hash: 'q', kind: 'internal', message: 'm'}];
        const text = encodePokeFrame(
          meta,
          rows.map(r => r.op),
        );
        const [type, body] = JSON.parse(text) as [string, {rows: WireRow[]}];
        expect(type).toBe('poke');
        expect({...body, rows: expanded(body.rows)}).toEqual({
          ...meta,
          rows: rows.map(r => r.plain),
        });
        // A puts op holds two rows or more; no two adjacent ops could have been one.
        for (const [i, r] of body.rows.entries()) {
          if (r.op === 'puts') {
            runs++;
            expect(r.values?.length).toBeGreaterThan(1);
          }
          const next = body.rows[i + 1];
          if (r.op === 'puts' && next?.op === 'puts') {
            expect([next.table, next.columns]).not.toEqual([r.table, r.columns]);
          }
        }
        expect(decodeDownstream(text)[0]).toBe('poke');
      },
    ),
    {numRuns: 500},
  );
  expect(runs).toBeGreaterThan(50);
});

test('runs break at another table, other columns or column order; a lone put stays a put', () => {
  const text = encodePokePartFrame('p', [
    {op: 'clear'},
    {op: 'put', table: 't', value: {id: 1, a: 'x'}},
    {op: 'put', table: 't', value: {id: 2, a: null}},
    {op: 'put', table: 't', value: {a: 'y', id: 3}},
    {op: 'put', table: 'u', value: {id: 4, a: 'z'}},
    {op: 'put', table: 'u', value: {id: 5, a: 'z', b: true}},
    {op: 'put', table: 'u', value: {id: 6, a: 'z', b: false}},
    {op: 'del', table: 'u', id: {id: 6}},
  ]);
  expect(JSON.parse(text)).toEqual([
    'pokePart',
    {
      pokeID: 'p',
      rows: [
        {op: 'clear'},
        {
          op: 'puts',
          table: 't',
          columns: ['id', 'a'],
          values: [
            [1, 'x'],
            [2, null],
          ],
        },
        {op: 'put', table: 't', value: {a: 'y', id: 3}},
        {op: 'put', table: 'u', value: {id: 4, a: 'z'}},
        {
          op: 'puts',
          table: 'u',
          columns: ['id', 'a', 'b'],
          values: [
            [5, 'z', true],
            [6, 'z', false],
          ],
        },
        {op: 'del', table: 'u', id: {id: 6}},
      ],
    },
  ]);
  expect(decodeDownstream(text)[0]).toBe('pokePart');
});

test('the assembled poke passes the protocol decoder', () => {
  const text = encodePokeFrame(
    {pokeID: 'p', baseVersion: null, version: 'e:1', gotQueries: [], lastMutationIDChanges: {}},
    [
      {op: 'clear'},
      {op: 'put', table: 'issue', value: {id: 1, title: 'a "quoted" \u2028 title'}},
      {op: 'del', table: 'issue', id: {id: 2}},
    ],
  );
  const frame = decodeDownstream(text);
  expect(frame[0]).toBe('poke');
  expect(frame[1]).toMatchObject({
    rows: [
      {op: 'clear'},
      {op: 'put', table: 'issue', value: {id: 1, title: 'a "quoted" \u2028 title'}},
      {op: 'del', table: 'issue', id: {id: 2}},
    ],
  });
});

test('content hashes tell different row texts apart and are stable', () => {
  const a = JSON.stringify({id: 1, title: 'a'});
  expect(contentHash(a)).toBe(contentHash(JSON.stringify({id: 1, title: 'a'})));
  expect(contentHash(a)).not.toBe(contentHash(JSON.stringify({id: 1, title: 'b'})));
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) seen.add(contentHash(JSON.stringify({id: i, title: 't'})));
  expect(seen.size).toBe(100_000);
  for (const h of seen) {
    expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
    break;
  }
});

test('row keys: key column order does not matter; values, types and tables are told apart', () => {
  expect(rowKey('t', {a: 1, b: 's'})).toBe(rowKey('t', {b: 's', a: 1}));
  const keys = [
    rowKey('t', {id: 1}),
    rowKey('t', {id: '1'}),
    rowKey('t', {id: 's1:1'}),
    rowKey('t', {id: null}),
    rowKey('t', {id: 'null'}),
    rowKey('u', {id: 1}),
    rowKey('t/', {id: 1}),
    rowKey('t', {a: 1, b: 2}),
    rowKey('t', {a: 12, b: null}),
    rowKey('t', {a: 'x,', b: 'y'}),
    rowKey('t', {a: 'x', b: ',y'}),
  ];
  expect(new Set(keys).size).toBe(keys.length);
  for (const k of keys) expect(k.includes('\u0000')).toBe(false);
  fc.assert(
    fc.property(fc.tuple(fc.string(), row), fc.tuple(fc.string(), row), ([t1, id1], [t2, id2]) => {
      // A table's key columns are fixed, so keys only need to differ for the same columns.
      const cols = (r: RowValue) => JSON.stringify(sorted(r).map(([c]) => c));
      const same = t1 === t2 && JSON.stringify(sorted(id1)) === JSON.stringify(sorted(id2));
      if (cols(id1) === cols(id2) && !same) {
        expect(rowKey(t1, id1)).not.toBe(rowKey(t2, id2));
      }
    }),
  );
});

function sorted(r: RowValue): [string, unknown][] {
  return Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
