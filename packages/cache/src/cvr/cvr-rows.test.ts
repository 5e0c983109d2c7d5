import {expect, test} from 'vitest';
import {keyOf, newRow} from './cvr.ts';
import {RowRecords} from './cvr-rows.ts';
import {addRowRun, rowCount, wireChunks, type RowRun} from './cvr-writes.ts';
import {rowKey} from '../view-syncer/row-key.ts';

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

test('row writes are taken as runs sharing table, refs, step and flag', () => {
  const rec = (key: string, table: string, refs: [string, number][], patchSeq = 1) => {
    const r = newRow(table, {id: key});
    r.deleted = false;
    r.contentHash = 7;
    r.patchSeq = patchSeq;
    const [first, ...more] = refs;
    if (first) [r.ref1, r.ref1Count] = first;
    if (more.length) r.moreRefs = new Map(more);
    return r;
  };
  const runs: RowRun[] = [];
  for (const r of [
    rec('a', 't', [['q', 1]]),
    rec('b', 't', [['q', 1]]),
    rec('c', 't', [['q', 2]]),
    rec('d', 'u', [['q', 2]]),
    rec('e', 'u', [['q', 2]], 3),
    rec(
      'f',
      'u',
      [
        ['q', 2],
        ['p', 1],
      ],
      3,
    ),
    rec(
      'g',
      'u',
      [
        ['p', 1],
        ['q', 2],
      ],
      3,
    ),
    rec('h', 'u', [], 3),
  ]) {
    addRowRun(runs, r);
  }
  expect(runs.map(r => [r.table, r.patchSeq, r.refs, r.ids.map(x => x['id'])])).toEqual([
    ['t', 1, {q: 1}, ['a', 'b']],
    ['t', 1, {q: 2}, ['c']],
    ['u', 1, {q: 2}, ['d']],
    ['u', 3, {q: 2}, ['e']],
    ['u', 3, {q: 2, p: 1}, ['f', 'g']],
    ['u', 3, {}, ['h']],
  ]);
  expect(rowCount(runs)).toBe(8);
});

test('taken rows do not change with their records; keys and JSON are built per chunk', () => {
  const recs = Array.from({length: 7}, (_, i) => {
    const r = newRow('t', {id: i});
    r.deleted = i === 6;
    r.contentHash = i === 6 ? null : 100 + i;
    r.ref1 = i === 6 ? null : 'q';
    r.ref1Count = i === 6 ? 0 : 1;
    r.patchSeq = 2;
    return r;
  });
  const runs: RowRun[] = [];
  for (const r of recs) addRowRun(runs, r);
  // The CVR moves on after the write was taken.
  recs[0]!.contentHash = 999;
  recs[0]!.ref1Count = 5;
  recs[0]!.patchSeq = 3;
  const chunks = [...wireChunks(runs, 3)];
  expect(chunks.map(c => c.map(run => run.rows.length))).toEqual([[3], [3], [1]]);
  expect(chunks[0]![0]).toEqual({
    t: 't',
    r: {q: 1},
    s: 2,
    d: false,
    rows: [0, 1, 2].map(i => [rowKey('t', {id: i}), {id: i}, 100 + i]),
  });
  expect(chunks[2]![0]).toEqual({
    t: 't',
    r: {},
    s: 2,
    d: true,
    rows: [[rowKey('t', {id: 6}), {id: 6}, null]],
  });
  // A chunk takes rows from several runs.
  expect([...wireChunks(runs, 10)].map(c => c.map(run => run.rows.length))).toEqual([[6, 1]]);
});
