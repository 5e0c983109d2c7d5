import {expect, test} from 'vitest';
import {keyOf, newRow} from './cvr.ts';
import {RowRecords} from './cvr-rows.ts';
import {compactRows} from './cvr-store.ts';
import {rowKey} from './row-key.ts';

test('records are found by table and id; 1 and "1", tables and composite ids stay apart', () => {
  const rows = new RowRecords();
  const ids = [
    ['t', {id: 1}],
    ['t', {id: '1'}],
    ['u', {id: 1}],
    ['t', {a: 1, b: 2}],
    ['t', {a: 2, b: 1}],
  ] as const;
  const recs = ids.map(([t, id]) => rows.getOrAdd(t, id, () => newRow(t, id)));
  expect(rows.size).toBe(5);
  expect(new Set(recs).size).toBe(5);
  for (const [i, [t, id]] of ids.entries()) {
    expect(rows.get(t, {...id})).toBe(recs[i]);
    expect(rows.holds(recs[i]!)).toBe(true);
  }
  // Composite ids are found whatever their column order.
  expect(rows.get('t', {b: 2, a: 1})).toBe(recs[3]);
  // getOrAdd returns the existing record.
  expect(rows.getOrAdd('t', {id: 1}, () => newRow('t', {id: 1}))).toBe(recs[0]);

  rows.delete(recs[0]!);
  expect(rows.size).toBe(4);
  expect(rows.get('t', {id: 1})).toBeUndefined();
  expect(rows.holds(recs[0]!)).toBe(false);
  // A replaced record is no longer held; deleting it does not remove its successor.
  const again = newRow('t', {id: '1'});
  rows.set(again);
  expect(rows.size).toBe(4);
  expect(rows.holds(recs[1]!)).toBe(false);
  rows.delete(recs[1]!);
  expect(rows.get('t', {id: '1'})).toBe(again);
  expect([...rows.values()]).toHaveLength(4);
  // The persisted key is made on demand, as row-key.ts defines it.
  expect(keyOf(again)).toBe(rowKey('t', {id: '1'}));
});

test('row writes are sent as runs of rows sharing table, refs, step and flag', () => {
  const rec = (key: string, table: string, refs: Record<string, number>, patchSeq = 1) => ({
    key,
    table,
    id: {id: key},
    contentHash: 7,
    refs,
    patchSeq,
    deleted: false,
  });
  const runs = compactRows([
    rec('a', 't', {q: 1}),
    rec('b', 't', {q: 1}),
    rec('c', 't', {q: 2}),
    rec('d', 'u', {q: 2}),
    rec('e', 'u', {q: 2}, 3),
    rec('f', 'u', {q: 2, p: 1}, 3),
  ]);
  expect(runs.map(r => [r.t, r.s, r.r, r.rows.map(x => x[0])])).toEqual([
    ['t', 1, {q: 1}, ['a', 'b']],
    ['t', 1, {q: 2}, ['c']],
    ['u', 1, {q: 2}, ['d']],
    ['u', 3, {q: 2}, ['e']],
    ['u', 3, {q: 2, p: 1}, ['f']],
  ]);
  expect(runs[0]?.rows[0]).toEqual(['a', {id: 'a'}, 7]);
});
