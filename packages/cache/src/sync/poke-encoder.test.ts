import fc from 'fast-check';
import {expect, test} from 'vitest';
import {decodeDownstream, type RowValue} from '@zync/protocol';
import {contentHash, encodePokeFrame, type PatchRow, type PokeMeta} from './poke-encoder.ts';
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
const patchRow: fc.Arbitrary<{op: PatchRow; plain: unknown}> = fc.oneof(
  fc.tuple(fc.string(), row).map(([table, r]) => ({
    op: {op: 'put', table, json: JSON.stringify(r)} as const,
    plain: {op: 'put', table, value: r},
  })),
  fc.tuple(fc.string(), row).map(([table, id]) => ({
    op: {op: 'del', table, id} as const,
    plain: {op: 'del', table, id},
  })),
  fc.constant({op: {op: 'clear'} as const, plain: {op: 'clear'}}),
);

test('a poke assembled from row texts is the JSON of the same poke', () => {
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
        expect(JSON.parse(text)).toEqual(['poke', {...meta, rows: rows.map(r => r.plain)}]);
      },
    ),
  );
});

test('the assembled poke passes the protocol decoder', () => {
  const text = encodePokeFrame(
    {pokeID: 'p', baseVersion: null, version: 'e:1', gotQueries: [], lastMutationIDChanges: {}},
    [
      {op: 'clear'},
      {op: 'put', table: 'issue', json: JSON.stringify({id: 1, title: 'a "quoted" \u2028 title'})},
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
