// One step of a CVR: a batch of query and row-reference changes that becomes one poke.
// Rows are compared before and after the step, so a row that enters one query and leaves
// another, or is shared by two queries, is sent once (or not at all).
import type {QueryError, RowValue} from '@zync/protocol';
import type {CVR, CVRRow, GotQueryOp} from './cvr.ts';
import {isReferenced} from './cvr.ts';
import {contentHash, type PatchRow} from './poke-encoder.ts';

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
   * The JSON text of a touched record's contents as of now (serialised once: finish() uses
   * the same text), or undefined if the step gave it none and it was never sent.
   */
  serialize(rec: CVRRow): string | undefined {
    const pending = rec.pending;
    if (pending === undefined) return rec.json;
    if (typeof pending === 'string') return pending;
    const json = JSON.stringify(pending);
    rec.pending = json;
    return json;
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
    for (const rec of this.#cvr.queryRows.get(hash) ?? []) this.#touch(rec);
    this.#cvr.dropRefs(hash);
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
   */
  finish(replicaVersion: string | null, collectRows = true): StepPatch {
    const cvr = this.#cvr;
    const seq = this.#seq;
    const rows: PatchRow[] = [];
    let changedRows = 0;
    for (const rec of this.#touched) {
      rec.touchedBy = 0;
      const pending = rec.pending;
      rec.pending = undefined;
      if (isReferenced(rec)) {
        if (pending === undefined) {
          // Touched without new contents (a reference moved): unchanged unless never sent.
          if (!rec.deleted || rec.json === undefined) continue;
        }
        const json =
          pending === undefined
            ? (rec.json as string)
            : typeof pending === 'string'
              ? pending
              : JSON.stringify(pending);
        if (!rec.deleted && sameContents(rec, json)) {
          rec.json = json;
          continue;
        }
        if (collectRows) rows.push({op: 'put', table: rec.table, json});
        changedRows++;
        cvr.rowSent(rec, seq, json);
      } else {
        rec.json = undefined;
        if (!rec.deleted) {
          if (collectRows) rows.push({op: 'del', table: rec.table, id: rec.id});
          changedRows++;
          cvr.rowDeleted(rec, seq);
        } else if (rec.patchSeq === 0) {
          // Entered and left within this step, never sent: nothing to remember.
          cvr.forgetRow(rec);
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
 * Whether `json` is what the client already has of a live row: compared as text while the
 * text is in memory, by hash for rows loaded from the store (which keeps only hashes).
 */
function sameContents(rec: CVRRow, json: string): boolean {
  if (rec.json !== undefined) return rec.json === json;
  return rec.contentHash !== null && rec.contentHash === contentHash(json);
}
