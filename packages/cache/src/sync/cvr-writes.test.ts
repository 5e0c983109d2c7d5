import {expect, test} from 'vitest';
import {mergeWrites, type CVRRowRecord, type CVRWrites} from './cvr.ts';

const group = (seq: number) => ({groupID: 'g', epoch: 'e', seq, horizon: 0, replicaVersion: null});
const row = (key: string, patchSeq: number): CVRRowRecord => ({
  key,
  table: 't',
  id: {id: key},
  contentHash: patchSeq,
  refs: {q: 1},
  patchSeq,
  deleted: false,
});
const writes = (seq: number, rows: CVRRowRecord[], deletedRows: string[]): CVRWrites => ({
  group: group(seq),
  queries: [],
  deletedQueries: [],
  rows,
  deletedRows,
});

test('merged CVR writes have the effect of writing both in order', () => {
  const a = writes(1, [row('a', 1), row('b', 1)], ['x', 'y']);
  const b = writes(2, [row('a', 2), row('x', 2)], ['b', 'z']);
  const m = mergeWrites(a, b);
  expect(m.group.seq).toBe(2);
  expect(Object.fromEntries(m.rows.map(r => [r.key, r.patchSeq]))).toEqual({a: 2, x: 2});
  expect(new Set(m.deletedRows)).toEqual(new Set(['y', 'b', 'z']));
  // No key is both written and deleted (a flush's statements all see one snapshot).
  for (const r of m.rows) expect(m.deletedRows).not.toContain(r.key);
});
