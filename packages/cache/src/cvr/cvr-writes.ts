// The row writes of one CVR write, taken between two steps and sent later in chunks. What
// is taken must not change while the CVR moves on, yet a hydration writes ~100k rows:
// building a record, a refs object and a key string for each at once made ~20 MiB of
// short-lived objects per write, whose pages V8 kept. So rows are taken as runs sharing
// table, refs, step and flag, holding only each row's id (the record's own, immutable
// object) and hash (unboxed doubles); keys and JSON are built per chunk, when sent.
import type {RowValue} from '@zync/protocol';
import type {CVRRow} from './cvr.ts';
import {rowKey} from '../view-syncer/row-key.ts';

/** Rows that share table, refs, step and deleted flag, in the order they were taken. */
export type RowRun = {
  readonly table: string;
  readonly refs: Readonly<Record<string, number>>;
  readonly patchSeq: number;
  readonly deleted: boolean;
  readonly ids: RowValue[];
  /** Content hashes; NaN for none (so the array stays one of unboxed doubles). */
  readonly hashes: number[];
};

/** Appends a record's current state to `runs`, extending the last run when it fits. */
export function addRowRun(runs: RowRun[], r: CVRRow): void {
  const last = runs[runs.length - 1];
  const run =
    last &&
    last.table === r.table &&
    last.patchSeq === r.patchSeq &&
    last.deleted === r.deleted &&
    sameRefs(last.refs, r)
      ? last
      : newRun(runs, r);
  run.ids.push(r.id);
  run.hashes.push(r.contentHash ?? NaN);
}

function newRun(runs: RowRun[], r: CVRRow): RowRun {
  const refs: Record<string, number> = {};
  if (r.ref1 !== null) refs[r.ref1] = r.ref1Count;
  if (r.moreRefs) for (const [h, n] of r.moreRefs) refs[h] = n;
  const run: RowRun = {
    table: r.table,
    refs,
    patchSeq: r.patchSeq,
    deleted: r.deleted,
    ids: [],
    hashes: [],
  };
  runs.push(run);
  return run;
}

/** Whether a record's references are exactly `refs` (its ref fields hold distinct hashes). */
function sameRefs(refs: Readonly<Record<string, number>>, r: CVRRow): boolean {
  let n = 0;
  if (r.ref1 !== null) {
    if (refs[r.ref1] !== r.ref1Count) return false;
    n++;
  }
  if (r.moreRefs) {
    for (const [h, c] of r.moreRefs) {
      if (refs[h] !== c) return false;
      n++;
    }
  }
  for (const _ in refs) n--;
  return n === 0;
}

export function rowCount(runs: readonly RowRun[]): number {
  let n = 0;
  for (const run of runs) n += run.ids.length;
  return n;
}

/**
 * The wire form of rows (what the flush statements unpack): runs with short field names,
 * each row `[key, id, contentHash]`, so the fields a hydration's rows share are sent once.
 */
export type WireRun = {
  t: string;
  r: Readonly<Record<string, number>>;
  s: number;
  d: boolean;
  rows: [string, RowValue, number | null][];
};

/** The wire form of `runs`, `size` rows at a time; each chunk is built when asked for. */
export function* wireChunks(runs: readonly RowRun[], size: number): Generator<WireRun[]> {
  let chunk: WireRun[] = [];
  let n = 0;
  for (const run of runs) {
    for (let i = 0; i < run.ids.length;) {
      const take = Math.min(run.ids.length - i, size - n);
      const rows: WireRun['rows'] = [];
      for (let j = 0; j < take; j++, i++) {
        const id = run.ids[i] as RowValue;
        const h = run.hashes[i] as number;
        rows.push([rowKey(run.table, id), id, Number.isNaN(h) ? null : h]);
      }
      chunk.push({t: run.table, r: run.refs, s: run.patchSeq, d: run.deleted, rows});
      n += take;
      if (n === size) {
        yield chunk;
        chunk = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield chunk;
}
