// One step of a CVR: a batch of query and row-reference changes that becomes one poke.
// Rows are compared before and after the step, so a row that enters one query and leaves
// another, or is shared by two queries, is sent once (or not at all).
import type {QueryError, RowValue} from '@zync/protocol';
import type {CVR, CVRRow, GotQueryOp} from './cvr.ts';
import {isReferenced} from './cvr.ts';
import {contentHash, type PatchRow} from '../view-syncer/poke-encoder.ts';

export type StepPatch = {
  readonly rows: PatchRow[];
  readonly gotQueries: GotQueryOp[];
  readonly queryErrors: QueryError[];
};

/** Gives every step its own mark, so a record knows whether this step touched it. */
let lastStepMark = 0;

export class CVRStep {
  readonly #cvr: CVR;
  readonly #seq: number;
  readonly #mark = ++lastStepMark;
  /**
   * Rows touched in this step. Their `deleted`/`contentHash` still describe what the
   * client had before the step (finish() is the only place that changes them).
   */
  readonly #touched: CVRRow[] = [];
  readonly #queryOps = new Map<string, 'put' | 'del'>();
  readonly #errors: QueryError[] = [];

  constructor(cvr: CVR) {
    this.#cvr = cvr;
    this.#seq = cvr.state.seq + 1;
  }

  #touch(rec: CVRRow): void {
    if (rec.touchedBy === this.#mark) return;
    rec.touchedBy = this.#mark;
    this.#touched.push(rec);
  }

  /** Treats every live row as touched (re-hydration after loading a CVR). */
  touchAllLive(): void {
    for (const rec of this.#cvr.state.rows.values()) {
      if (!rec.deleted) this.#touch(rec);
    }
  }

  addRow(hash: string, table: string, id: RowValue, row: RowValue): CVRRow {
    const rec = this.#cvr.row(table, id);
    this.#touch(rec);
    this.#cvr.adjustRef(hash, rec, 1);
    rec.pending = row;
    return rec;
  }

  /**
   * A touched record's contents as of now, or undefined if the step gave it none and it
   * was never sent.
   */
  contents(rec: CVRRow): RowValue | undefined {
    return rec.pending ?? rec.value;
  }

  editRow(table: string, id: RowValue, row: RowValue): void {
    const rec = this.#cvr.state.rows.get(table, id);
    if (!rec) return;
    this.#touch(rec);
    rec.pending = row;
  }

  removeRow(hash: string, table: string, id: RowValue): void {
    const rec = this.#cvr.state.rows.get(table, id);
    if (!rec) return;
    this.#touch(rec);
    this.#cvr.adjustRef(hash, rec, -1);
  }

  /** Drops all of a query's references (its rows leave unless another query holds them). */
  dropQueryRows(hash: string): void {
    const recs = this.#cvr.rowsOf(hash);
    for (const rec of recs) this.#touch(rec);
    this.#cvr.dropRefs(hash, recs);
  }

  gotQuery(hash: string): void {
    this.#queryOps.set(hash, 'put');
  }

  lostQuery(hash: string): void {
    this.#queryOps.set(hash, 'del');
  }

  queryError(error: QueryError): void {
    this.#errors.push(error);
  }

  /**
   * Settles the step: updates row and query records, and returns the patch to poke
   * (empty when nothing visible changed, in which case the CVR's step does not advance).
   * `collectRows: false` when nobody would be poked (a group's first client gets its rows
   * from the catch-up): the records are settled the same, the row list stays empty.
   * `partsSent`: every client poked got the rows marked `streamed` in poke parts already
   * (poke-stream.ts), so those are left out, and dropped ones are deleted.
   */
  finish(replicaVersion: string | null, collectRows = true, partsSent = false): StepPatch {
    const cvr = this.#cvr;
    const seq = this.#seq;
    const rows: PatchRow[] = [];
    let changedRows = 0;
    for (const rec of this.#touched) {
      rec.touchedBy = 0;
      const pending = rec.pending;
      rec.pending = undefined;
      if (isReferenced(rec)) {
        const value = pending ?? rec.value;
        // Touched without new contents (a reference moved): unchanged unless not live.
        if (value === undefined || (pending === undefined && !rec.deleted)) continue;
        if (!rec.deleted && sameContents(rec, value)) {
          rec.value = value;
          continue;
        }
        // Rows the parts carried with these contents are not sent again.
        if (collectRows && !(partsSent && rec.streamed === value)) {
          rows.push({op: 'put', table: rec.table, value});
        }
        changedRows++;
        cvr.rowSent(rec, seq, value);
      } else {
        rec.value = undefined;
        if (!rec.deleted) {
          if (collectRows) rows.push({op: 'del', table: rec.table, id: rec.id});
          changedRows++;
          cvr.rowDeleted(rec, seq);
        } else {
          // The parts put a row the step then dropped: the poke takes it back.
          if (collectRows && partsSent && rec.streamed !== undefined) {
            rows.push({op: 'del', table: rec.table, id: rec.id});
          }
          // Entered and left within this step, never sent before: nothing to remember.
          if (rec.patchSeq === 0) cvr.forgetRow(rec);
        }
      }
    }
    const gotQueries: GotQueryOp[] = [];
    for (const [hash, op] of this.#queryOps) {
      const q = cvr.state.queries.get(hash);
      if (!q) continue;
      if (op === 'put') {
        q.gotSeq = seq;
        q.replicaVersion = replicaVersion;
        q.deleted = false;
      } else {
        q.deleted = true;
        q.gotSeq = null;
      }
      q.patchSeq = seq;
      cvr.markQueryDirty(hash);
      gotQueries.push({op, hash});
    }
    if (changedRows > 0 || gotQueries.length > 0) {
      cvr.state.seq = seq;
      cvr.markGroupDirty();
    }
    if (replicaVersion !== null && cvr.state.replicaVersion !== replicaVersion) {
      cvr.state.replicaVersion = replicaVersion;
      cvr.markGroupDirty();
    }
    return {rows, gotQueries, queryErrors: this.#errors};
  }
}

/**
 * Whether `value` is what the client already has of a live row: compared with the contents
 * last sent while they are in memory, by hash for rows loaded from the store (which keeps
 * only hashes).
 */
function sameContents(rec: CVRRow, value: RowValue): boolean {
  if (rec.value !== undefined) return sameRow(rec.value, value);
  return rec.contentHash !== null && rec.contentHash === contentHash(JSON.stringify(value));
}

/** Whether two rows have the same columns and the same JSON value in each. */
export function sameRow(a: RowValue, b: RowValue): boolean {
  if (a === b) return true;
  let n = 0;
  for (const key in a) {
    n++;
    if (!Object.hasOwn(b, key)) return false;
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) {
      // Numbers JSON writes alike (NaN and the infinities are all null).
      if (typeof x === 'number' && typeof y === 'number' && !isFinite(x) && !isFinite(y)) continue;
      return false;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  for (const key in b) if (key) n--;
  return n === 0;
}
