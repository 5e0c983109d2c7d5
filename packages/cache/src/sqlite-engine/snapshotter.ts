// Consistent reads of the replica for one set of pipelines. The current snapshot is a read
// connection holding a transaction pinned at version V; `advance()` takes one pinned at the
// newest version V', diffs (V, V'] from the change log, and once the caller has pushed
// every change into the sources, `commit()` moves the sources onto V' (dropping their
// overlays) and releases V. The snapshotters of one replica share pinned connections and
// the decoded change log (SnapshotPool, ChangeLogCache). See docs/sqlite-source.md.
import type Database from 'better-sqlite3';
import {readTableSpecs} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {ChangesStep, ResetStep} from './advance-steps.ts';
import {diffRange, type TableChange} from './change-log-diff.ts';
import {ChangeLogCache, readRange, type ChangeLogRange, type ResetReason} from './change-log.ts';
import {closeQuietly, SnapshotPool, type Snap} from './snapshot-pool.ts';
import {SQLiteSource, type SnapshotHandle} from './sqlite-source.ts';
import type {StatementCache} from './statement-cache.ts';
import type {Batcher} from '@zync/zql/ivm';

export {ChangeLogCache, type ChangeLogRange, type ResetReason} from './change-log.ts';
export {type TableChange} from './change-log-diff.ts';
export {SnapshotPool} from './snapshot-pool.ts';

export type SnapshotterOptions = {
  /** Passed to every source: each push runs in one batch of it. */
  readonly batcher?: Batcher | undefined;
  /**
   * Shared by the snapshotters of one replica file, so that groups advancing over the same
   * versions read and decode the change log once (see ChangeLogCache).
   */
  readonly changeLog?: ChangeLogCache | undefined;
  /**
   * Shared by the snapshotters of one replica file, so that groups at the same version
   * share its read transaction. Without it, the snapshotter has connections of its own.
   */
  readonly pool?: SnapshotPool | undefined;
};

export type SnapshotAdvance =
  | {readonly kind: 'none'; readonly version: string}
  | {
      readonly kind: 'changes';
      readonly from: string;
      readonly version: string;
      /**
       * The net change of every key changed in (from, version], for tables that have a
       * source. Lazily computed: push each into its source before pulling the next.
       */
      changes(): Iterable<TableChange>;
      /** Moves every source onto `version`. Call after every change was pushed. */
      commit(): void;
    }
  | {
      readonly kind: 'reset';
      readonly from: string;
      readonly version: string;
      readonly reason: ResetReason;
      /**
       * Moves onto `version` and invalidates every source: the caller destroys its
       * pipelines first, then rebuilds them with fresh sources from `getSource`.
       */
      commit(): void;
    };

const CLIENTS_EXIST_SQL = `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_zync_clients'`;
const CLIENTS_SQL = `SELECT "clientID" AS c, "lastMutationID" AS m FROM _zync_clients
  WHERE "clientGroupID" = ?`;

/** Opens the snapshotters of one replica file (one per client group). */
export interface SnapshotterFactory {
  open(batcher?: Batcher): Snapshotter;
  /** Closes idle connections now, the others as their snapshotters let go of them. */
  close(): void;
}

/**
 * Snapshotters on one replica file that share a change-log cache, their pinned read
 * connections and prepared statements: what the view syncer uses.
 */
/**
 * The table specs of each pinned snapshot, read once: groups that open on the same snapshot
 * (every connect between two commits) share them instead of re-reading the schema.
 */
const specsBySnap = new WeakMap<Snap, Map<string, TableSpec>>();

function specsOf(snap: Snap): Map<string, TableSpec> {
  let out = specsBySnap.get(snap);
  if (!out) {
    out = new Map();
    for (const [name, {upstreamOid: _oid, ...spec}] of readTableSpecs(snap.db)) out.set(name, spec);
    specsBySnap.set(snap, out);
  }
  return out;
}

export function snapshotterFactory(file: string): SnapshotterFactory {
  const changeLog = new ChangeLogCache();
  const pool = new SnapshotPool(file);
  return {
    open: batcher => new Snapshotter(file, {batcher, changeLog, pool}),
    close: () => pool.close(),
  };
}

export class Snapshotter implements SnapshotHandle {
  readonly #batcher: Batcher | undefined;
  readonly #changeLog: ChangeLogCache | undefined;
  readonly #pool: SnapshotPool;
  readonly #ownPool: boolean;
  readonly #stmts: StatementCache;
  #cur: Snap;
  /** The snapshot an advance acquired, until its commit. */
  #next: Snap | undefined;
  #specs: Map<string, TableSpec>;
  #sources = new Map<string, SQLiteSource>();
  #advancing = false;
  #closed = false;

  constructor(file: string, options: SnapshotterOptions = {}) {
    this.#batcher = options.batcher;
    this.#changeLog = options.changeLog;
    this.#ownPool = !options.pool;
    this.#pool = options.pool ?? new SnapshotPool(file, false);
    this.#stmts = this.#pool.stmts;
    this.#cur = this.#pool.acquire();
    this.#specs = specsOf(this.#cur);
  }

  /** Prepared statements, shared with the other snapshotters of the pool. */
  get statements(): StatementCache {
    return this.#stmts;
  }

  /** The version of the current snapshot. */
  get version(): string {
    return this.#cur.version;
  }

  /** The pinned read connection of the current snapshot. */
  get db(): Database.Database {
    if (this.#closed) throw new TypeError('the snapshotter is closed');
    return this.#cur.db;
  }

  get tables(): ReadonlyMap<string, TableSpec> {
    return this.#specs;
  }

  /** The one source of `table` (created on first use), or undefined if there is no such table. */
  getSource(table: string): SQLiteSource | undefined {
    let s = this.#sources.get(table);
    if (!s) {
      const spec = this.#specs.get(table);
      if (!spec || spec.primaryKey.length === 0) return undefined;
      s = new SQLiteSource(this, spec, {batcher: this.#batcher});
      this.#sources.set(table, s);
    }
    return s;
  }

  /** Pins the newest version of the replica and describes how to get there. */
  advance(): SnapshotAdvance {
    if (this.#advancing) throw new TypeError('an advance is already in progress');
    if (this.#closed) throw new TypeError('the snapshotter is closed');
    const next = this.#pool.acquire();
    const from = this.#cur;
    if (next.version === from.version) {
      this.#pool.release(next);
      return {kind: 'none', version: from.version};
    }
    this.#advancing = true;
    this.#next = next;
    let range: ChangeLogRange | undefined;
    const reason =
      next.floor > from.version
        ? 'changelog-pruned'
        : (range = this.#range(from.version, next)).reset;
    if (reason) return new ResetStep(from.version, next, reason, this.#resetTo);
    return new ChangesStep(from, next, range as ChangeLogRange, this.#moveTo, this.#diffOf);
  }

  // Bound once: closures made per advance would cost more than the advance itself.
  readonly #resetTo = (next: Snap): void => {
    this.#swap(next);
    for (const s of this.#sources.values()) s.invalidate();
    this.#sources = new Map();
    this.#specs = specsOf(next);
  };

  readonly #moveTo = (next: Snap): void => {
    this.#swap(next);
    for (const s of this.#sources.values()) s.rebase();
  };

  readonly #diffOf = (from: Snap, next: Snap, range: ChangeLogRange): Iterable<TableChange> =>
    diffRange(this.#sources, this.#stmts, from, next, range);

  #swap(next: Snap): void {
    for (const s of this.#sources.values()) s.closeIterators();
    const old = this.#cur;
    this.#cur = next;
    this.#next = undefined;
    this.#pool.release(old);
    this.#advancing = false;
  }

  #range(from: string, next: Snap): ChangeLogRange {
    const cached = this.#changeLog?.get(from, next.version);
    if (cached) return cached;
    const range = readRange(next.db, this.#stmts, from, next.version);
    this.#changeLog?.set(from, next.version, range);
    return range;
  }

  /** The last mutation ids of a group's clients in the pinned snapshot. */
  lastMutationIDs(clientGroupID: string): Record<string, number> {
    const db = this.db;
    const exists = this.#stmts.get(db, CLIENTS_EXIST_SQL).get();
    if (!exists) return {};
    const rows = this.#stmts.get(db, CLIENTS_SQL).all(clientGroupID) as {c: string; m: number}[];
    const out: Record<string, number> = {};
    for (const r of rows) out[r.c] = Number(r.m);
    return out;
  }

  /** Releases the snapshot (and an advance's, if not committed). Sources must not be used afterwards. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sources.values()) s.invalidate();
    this.#sources.clear();
    this.#pool.release(this.#cur);
    if (this.#next) this.#pool.release(this.#next);
    this.#next = undefined;
    if (this.#ownPool) {
      this.#pool.close();
      // A private pool's connections are this snapshotter's alone: close them even if a
      // consumer left an iterator open (the shared pool leaves those to the GC).
      closeQuietly(this.#cur.db);
    }
  }
}
