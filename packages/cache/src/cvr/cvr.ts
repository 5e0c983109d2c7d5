// The client view record of one client group, in memory: which queries the group holds,
// which rows it has, and at which CVR step each was last put or deleted. Changes happen in
// steps (see cvr-step.ts); dirty records are collected for the CVR store to write.
// See docs/cvr.md.
import type {AST, RowValue} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import {formatVersion, type CVRVersion} from './cvr-version.ts';
import {RowRecords} from './cvr-rows.ts';
import {addRowRun, type RowRun} from './cvr-writes.ts';
import {contentHash, type PatchRow} from '../view-syncer/poke-encoder.ts';
import {rowKey} from '../view-syncer/row-key.ts';

export type CVRQuery = {
  readonly hash: string;
  /** The AST the group runs (already transformed), or null if never resolved. */
  ast: AST | null;
  name: string | null;
  args: readonly ReadonlyJSONValue[] | null;
  /** Connected clients that want the query, with the TTL each asked for. */
  desiredBy: Map<string, number>;
  /** How long to keep the query once nobody wants it. */
  ttlMs: number;
  /** When the last client stopped wanting it (epoch ms), null while wanted. */
  inactiveSince: number | null;
  /** The step at which the query's result was (last) included, null if never. */
  gotSeq: number | null;
  /** The replica version its result was got at. */
  replicaVersion: string | null;
  /** The step of the last gotQueries change (put or del). */
  patchSeq: number;
  /** Tombstone: the query was dropped at `patchSeq`. */
  deleted: boolean;
};

export type CVRRow = {
  readonly table: string;
  readonly id: RowValue;
  /**
   * A hash of the row's contents as last sent (poke-encoder.ts `contentHash`), null for
   * tombstones; also null for a live row until its record is written (see takeWrites).
   */
  contentHash: number | null;
  /**
   * References by query hash. Almost every row is referenced by one query only, so the
   * first reference is kept in two fields and a `Map` is made only for a second query.
   */
  ref1: string | null;
  ref1Count: number;
  moreRefs: Map<string, number> | null;
  /** The step at which the row was last put or deleted. */
  patchSeq: number;
  /** Tombstone: the row was deleted at `patchSeq`. */
  deleted: boolean;
  /** Memory only: contents given during the current step, not yet compared or sent. */
  pending: RowValue | undefined;
  /**
   * Memory only: the contents last sent (live rows), for catch-ups and to compare with new
   * contents. The object the query engine gave (rows are never modified), so it costs no
   * copy; undefined for records loaded from the store until their query runs again.
   */
  value: RowValue | undefined;
  /** Memory only: the step that last touched the row (see CVRStep). */
  touchedBy: number;
  /** Memory only: the contents streamed ahead of the current catch-up (poke-stream.ts). */
  streamed: RowValue | undefined;
};

/** A row the client was told to delete (kept so that older cookies get a delta). */
function isTombstone(r: CVRRow): boolean {
  return r.deleted && r.patchSeq > 0;
}

/** Whether any query references the row. */
export function isReferenced(r: CVRRow): boolean {
  return r.ref1 !== null || (r.moreRefs !== null && r.moreRefs.size > 0);
}

/** Every query hash that references the row. */
export function* refHashes(r: CVRRow): Iterable<string> {
  if (r.ref1 !== null) yield r.ref1;
  if (r.moreRefs) yield* r.moreRefs.keys();
}

/** Adds `delta` to one query's references of a row; returns the query's new count. */
function addRef(r: CVRRow, hash: string, delta: number): number {
  if (r.ref1 === hash) {
    const n = r.ref1Count + delta;
    if (n > 0) r.ref1Count = n;
    else {
      r.ref1 = null;
      r.ref1Count = 0;
    }
    return n;
  }
  const n = (r.moreRefs?.get(hash) ?? 0) + delta;
  if (r.ref1 === null && !r.moreRefs?.has(hash) && n > 0) {
    r.ref1 = hash;
    r.ref1Count = n;
    return n;
  }
  if (n > 0) (r.moreRefs ??= new Map()).set(hash, n);
  else r.moreRefs?.delete(hash);
  return n;
}

function dropRef(r: CVRRow, hash: string): void {
  if (r.ref1 === hash) {
    r.ref1 = null;
    r.ref1Count = 0;
  } else r.moreRefs?.delete(hash);
}

function clearRefs(r: CVRRow): void {
  r.ref1 = null;
  r.ref1Count = 0;
  r.moreRefs = null;
}

export function newRow(table: string, id: RowValue): CVRRow {
  return {
    table,
    id,
    contentHash: null,
    ref1: null,
    ref1Count: 0,
    moreRefs: null,
    patchSeq: 0,
    deleted: true,
    pending: undefined,
    value: undefined,
    touchedBy: 0,
    streamed: undefined,
  };
}

export type CVRState = {
  readonly groupID: string;
  epoch: string;
  /** The current (last completed) step. */
  seq: number;
  /** Tombstones at or before this step were purged: older cookies get a reset. */
  horizon: number;
  replicaVersion: string | null;
  readonly queries: Map<string, CVRQuery>;
  readonly rows: RowRecords;
};

export type GotQueryOp = {op: 'put'; hash: string} | {op: 'del'; hash: string} | {op: 'clear'};

export type CatchUp = {
  /** True when the client's cookie cannot be served as a delta: rows/queries start with clear. */
  readonly reset: boolean;
  readonly rows: PatchRow[];
  readonly gotQueries: GotQueryOp[];
};

export class CVR {
  readonly state: CVRState;
  readonly #dirtyQueries = new Set<string>();
  /** Records to write: current ones are upserted, replaced or forgotten ones deleted. */
  readonly #dirtyRows = new Set<CVRRow>();
  #groupDirty = false;
  /** Rows deleted after being sent (what purgeTombstones counts), kept up to date. */
  #rowTombstones = 0;
  /**
   * The group's `owner_epoch` this copy was loaded with (set by the store): its writes are
   * refused once another node loaded the group (cvr-ownership.ts). 0: not loaded.
   */
  ownerEpoch = 0;

  constructor(state: CVRState) {
    this.state = state;
    for (const row of state.rows.values()) {
      if (isTombstone(row)) this.#rowTombstones++;
    }
  }

  static empty(groupID: string, epoch: string): CVR {
    return new CVR({
      groupID,
      epoch,
      seq: 0,
      horizon: 0,
      replicaVersion: null,
      queries: new Map(),
      rows: new RowRecords(),
    });
  }

  get version(): CVRVersion {
    return {epoch: this.state.epoch, seq: this.state.seq};
  }

  get cookie(): string {
    return formatVersion(this.version);
  }

  /**
   * The records query `hash` references. Found by a scan: there is no index from queries
   * to rows (it would cost a set entry per row and group, and only the removal of a query
   * needs it).
   */
  rowsOf(hash: string): CVRRow[] {
    const out: CVRRow[] = [];
    for (const rec of this.state.rows.values()) {
      if (rec.ref1 === hash || rec.moreRefs?.has(hash) === true) out.push(rec);
    }
    return out;
  }

  /** The record of a row, created (as a never-sent tombstone) if there is none. */
  row(table: string, id: RowValue): CVRRow {
    return this.state.rows.getOrAdd(table, id, () => newRow(table, id));
  }

  /** Adjusts the reference count of query `hash` on a row. */
  adjustRef(hash: string, rec: CVRRow, delta: number): void {
    addRef(rec, hash, delta);
    this.#dirtyRows.add(rec);
  }

  /** Drops every reference of one query from `recs` (its `rowsOf`). */
  dropRefs(hash: string, recs: readonly CVRRow[] = this.rowsOf(hash)): void {
    for (const rec of recs) {
      dropRef(rec, hash);
      this.#dirtyRows.add(rec);
    }
  }

  /** Forgets every reference (before re-hydrating a loaded CVR). */
  dropAllRefs(): void {
    for (const rec of this.state.rows.values()) {
      if (isReferenced(rec)) {
        clearRefs(rec);
        this.#dirtyRows.add(rec);
      }
    }
  }

  /** Removes a row record entirely (never sent, or a purged tombstone). */
  forgetRow(rec: CVRRow): void {
    if (!this.state.rows.holds(rec)) return;
    if (isTombstone(rec)) this.#rowTombstones--;
    this.state.rows.delete(rec);
    this.#dirtyRows.add(rec);
  }

  /** Records that `rec` was sent at step `seq` with contents `value`. */
  rowSent(rec: CVRRow, seq: number, value: RowValue): void {
    if (isTombstone(rec)) this.#rowTombstones--;
    rec.value = value;
    // Hashed when written to the store (after the poke), not on the poke's path.
    rec.contentHash = null;
    rec.patchSeq = seq;
    rec.deleted = false;
    this.#dirtyRows.add(rec);
  }

  /** Records that the client was told at step `seq` to delete `rec`. */
  rowDeleted(rec: CVRRow, seq: number): void {
    rec.contentHash = null;
    rec.patchSeq = seq;
    rec.deleted = true;
    this.#rowTombstones++;
    this.#dirtyRows.add(rec);
  }

  markQueryDirty(hash: string): void {
    this.#dirtyQueries.add(hash);
  }

  markGroupDirty(): void {
    this.#groupDirty = true;
  }

  forgetQuery(hash: string): void {
    this.state.queries.delete(hash);
    this.#dirtyQueries.add(hash);
  }

  /** Row records changed since the last takeWrites(). */
  get dirtyRowCount(): number {
    return this.#dirtyRows.size;
  }

  get hasDirty(): boolean {
    return this.#groupDirty || this.#dirtyQueries.size > 0 || this.#dirtyRows.size > 0;
  }

  /**
   * Hands over what changed since the last call, as copies, for the store to write (rows
   * in compact runs, see cvr-writes.ts). Keys whose record no longer exists are deletions.
   */
  takeWrites(): CVRWrites {
    const queries: CVRQueryRecord[] = [];
    const deletedQueries: string[] = [];
    for (const hash of this.#dirtyQueries) {
      const q = this.state.queries.get(hash);
      if (q) queries.push(queryRecord(q));
      else deletedQueries.push(hash);
    }
    const rows: RowRun[] = [];
    const deletedRows: string[] = [];
    for (const rec of this.#dirtyRows) {
      if (this.state.rows.holds(rec)) {
        if (!rec.deleted && rec.contentHash === null && rec.value !== undefined) {
          rec.contentHash = contentHash(JSON.stringify(rec.value));
        }
        addRowRun(rows, rec);
      }
      // A forgotten record is deleted, unless a newer record of the row is written.
      else if (!this.state.rows.get(rec.table, rec.id)) deletedRows.push(keyOf(rec));
    }
    this.#dirtyRows.clear();
    this.#groupDirty = false;
    return {
      group: {
        groupID: this.state.groupID,
        epoch: this.state.epoch,
        seq: this.state.seq,
        horizon: this.state.horizon,
        replicaVersion: this.state.replicaVersion,
        ownerEpoch: this.ownerEpoch,
      },
      queries,
      deletedQueries,
      rows,
      deletedRows,
    };
  }

  /**
   * What a client holding step `baseSeq` (null: nothing, or a cookie we cannot serve)
   * needs to reach the current step. `afterParts` (resets only): the client already got
   * `clear` and the rows marked `streamed` in poke parts, which the catch-up leaves out
   * unless their contents changed since.
   */
  catchUp(baseSeq: number | null, afterParts = false): CatchUp {
    const reset = baseSeq === null;
    const since = baseSeq ?? -1;
    const rows: PatchRow[] = reset && !afterParts ? [{op: 'clear'}] : [];
    const gotQueries: GotQueryOp[] = reset ? [{op: 'clear'}] : [];
    for (const rec of this.state.rows.values()) {
      if (rec.patchSeq <= since) continue;
      if (!rec.deleted) {
        if (rec.value !== undefined && !(afterParts && rec.streamed === rec.value)) {
          rows.push({op: 'put', table: rec.table, value: rec.value});
        }
      } else if (!reset) {
        rows.push({op: 'del', table: rec.table, id: rec.id});
      }
    }
    for (const q of this.state.queries.values()) {
      if (q.patchSeq <= since) continue;
      if (!q.deleted && q.gotSeq !== null) gotQueries.push({op: 'put', hash: q.hash});
      else if (q.deleted && !reset) gotQueries.push({op: 'del', hash: q.hash});
    }
    return {reset, rows, gotQueries};
  }

  /**
   * Purges the oldest tombstones when there are more than `max`, keeping about half, and
   * moves the horizon so that cookies older than what was purged get a reset.
   */
  purgeTombstones(max: number): void {
    // Runs after every step: count cheaply first (queries are few, rows are many).
    let queryTombstones = 0;
    for (const q of this.state.queries.values()) if (q.deleted) queryTombstones++;
    if (this.#rowTombstones + queryTombstones <= max) return;
    const seqs: number[] = [];
    for (const r of this.state.rows.values())
      if (r.deleted && !isReferenced(r)) seqs.push(r.patchSeq);
    for (const q of this.state.queries.values()) if (q.deleted) seqs.push(q.patchSeq);
    if (seqs.length <= max) return;
    seqs.sort((a, b) => a - b);
    const cutoff = seqs[seqs.length - Math.max(1, Math.floor(max / 2)) - 1] as number;
    for (const r of [...this.state.rows.values()]) {
      if (r.deleted && !isReferenced(r) && r.patchSeq <= cutoff) this.forgetRow(r);
    }
    for (const q of [...this.state.queries.values()]) {
      if (q.deleted && q.patchSeq <= cutoff) this.forgetQuery(q.hash);
    }
    if (cutoff > this.state.horizon) {
      this.state.horizon = cutoff;
      this.#groupDirty = true;
    }
  }
}

/** Persisted form of a query (plain data, safe to hold while the CVR moves on). */
export type CVRQueryRecord = {
  hash: string;
  ast: AST | null;
  name: string | null;
  args: readonly ReadonlyJSONValue[] | null;
  desiredBy: Record<string, number>;
  ttlMs: number;
  inactiveSince: number | null;
  gotSeq: number | null;
  replicaVersion: string | null;
  patchSeq: number;
  deleted: boolean;
};

export type CVRRowRecord = {
  key: string;
  table: string;
  id: RowValue;
  contentHash: number | null;
  refs: Record<string, number>;
  patchSeq: number;
  deleted: boolean;
};

export type CVRGroupRecord = {
  groupID: string;
  epoch: string;
  seq: number;
  horizon: number;
  replicaVersion: string | null;
  /** The write is refused unless the group's owner epoch is still this one. */
  ownerEpoch: number;
};

export type CVRWrites = {
  group: CVRGroupRecord;
  queries: CVRQueryRecord[];
  deletedQueries: string[];
  rows: RowRun[];
  deletedRows: string[];
};

function queryRecord(q: CVRQuery): CVRQueryRecord {
  return {
    hash: q.hash,
    ast: q.ast,
    name: q.name,
    args: q.args,
    desiredBy: Object.fromEntries(q.desiredBy),
    ttlMs: q.ttlMs,
    inactiveSince: q.inactiveSince,
    gotSeq: q.gotSeq,
    replicaVersion: q.replicaVersion,
    patchSeq: q.patchSeq,
    deleted: q.deleted,
  };
}

/**
 * The persisted key of a record. Made again for each write rather than kept: a key string
 * per row and group costs more memory than building the few that a step writes.
 */
export function keyOf(r: CVRRow): string {
  return rowKey(r.table, r.id);
}

export function queryFromRecord(r: CVRQueryRecord): CVRQuery {
  return {...r, desiredBy: new Map(Object.entries(r.desiredBy))};
}

export function rowFromRecord(r: CVRRowRecord): CVRRow {
  const rec = newRow(r.table, r.id);
  rec.contentHash = r.contentHash;
  rec.patchSeq = r.patchSeq;
  rec.deleted = r.deleted;
  for (const [hash, n] of Object.entries(r.refs)) addRef(rec, hash, n);
  return rec;
}
