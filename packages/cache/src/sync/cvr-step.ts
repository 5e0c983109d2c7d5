// One step of a CVR: a batch of query and row-reference changes that becomes one poke.
// Rows are compared before and after the step, so a row that enters one query and leaves
// another, or is shared by two queries, is sent once (or not at all).
import type {QueryError, RowPatchOp, RowValue} from '@zync/protocol';
import {hashOf} from '@zync/shared';
import type {CVR, GotQueryOp} from './cvr.ts';
import {rowKey} from './row-key.ts';

type Before = {readonly wasLive: boolean; readonly hash: string | null};

export type StepPatch = {
  readonly rows: RowPatchOp[];
  readonly gotQueries: GotQueryOp[];
  readonly queryErrors: QueryError[];
};

export class CVRStep {
  readonly #cvr: CVR;
  readonly #seq: number;
  readonly #before = new Map<string, Before>();
  readonly #queryOps = new Map<string, 'put' | 'del'>();
  readonly #errors: QueryError[] = [];

  constructor(cvr: CVR) {
    this.#cvr = cvr;
    this.#seq = cvr.state.seq + 1;
  }

  #touch(key: string): void {
    if (this.#before.has(key)) return;
    const rec = this.#cvr.state.rows.get(key);
    this.#before.set(
      key,
      rec && !rec.deleted ? {wasLive: true, hash: rec.contentHash} : {wasLive: false, hash: null},
    );
  }

  /** Treats every live row as touched (re-hydration after loading a CVR). */
  touchAllLive(): void {
    for (const [key, rec] of this.#cvr.state.rows) {
      if (!rec.deleted) this.#touch(key);
    }
  }

  addRow(hash: string, table: string, id: RowValue, row: RowValue): void {
    const key = rowKey(table, id);
    this.#touch(key);
    this.#cvr.adjustRef(hash, key, table, id, 1);
    this.#cvr.contents.set(key, row);
  }

  editRow(table: string, id: RowValue, row: RowValue): void {
    const key = rowKey(table, id);
    this.#touch(key);
    if (this.#cvr.state.rows.has(key)) this.#cvr.contents.set(key, row);
  }

  removeRow(hash: string, table: string, id: RowValue): void {
    const key = rowKey(table, id);
    this.#touch(key);
    this.#cvr.adjustRef(hash, key, table, id, -1);
  }

  /** Drops all of a query's references (its rows leave unless another query holds them). */
  dropQueryRows(hash: string): void {
    for (const key of this.#cvr.queryRows.get(hash) ?? []) this.#touch(key);
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
   */
  finish(replicaVersion: string | null): StepPatch {
    const cvr = this.#cvr;
    const seq = this.#seq;
    const rows: RowPatchOp[] = [];
    for (const [key, before] of this.#before) {
      const rec = cvr.state.rows.get(key);
      if (!rec) continue;
      const live = rec.refs.size > 0;
      if (live) {
        const value = cvr.contents.get(key);
        if (!value) continue; // cannot happen: refs are only added with contents
        const hash = hashOf(value);
        if (!before.wasLive || before.hash !== hash) {
          rows.push({op: 'put', table: rec.table, value});
          rec.contentHash = hash;
          rec.patchSeq = seq;
          rec.deleted = false;
          cvr.markRowDirty(key);
        }
      } else {
        cvr.contents.delete(key);
        if (before.wasLive) {
          rows.push({op: 'del', table: rec.table, id: rec.id});
          rec.contentHash = null;
          rec.patchSeq = seq;
          rec.deleted = true;
          cvr.markRowDirty(key);
        } else if (rec.patchSeq === 0 && rec.deleted) {
          // Entered and left within this step, never sent: nothing to remember.
          cvr.forgetRow(key);
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
    if (rows.length > 0 || gotQueries.length > 0) {
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
