// Consistent reads of the replica for one set of pipelines. The current snapshot is a read
// connection holding a transaction pinned at version V; `advance()` takes one pinned at the
// newest version V', diffs (V, V'] from the change log, and once the caller has pushed
// every change into the sources, `commit()` moves the sources onto V' (dropping their
// overlays) and releases V. The snapshotters of one replica share pinned connections and
// the decoded change log (SnapshotPool, ChangeLogCache). See docs/sqlite-source.md.
import Database from 'better-sqlite3';
import {readTableSpecs} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {toParam, type SqlParam} from './sqlite-filter.ts';
import {SQLiteSource, StatementCache, type SnapshotHandle} from './sqlite-source.ts';
import type {Batcher, SourceChange} from '@zync/zql/ivm';

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

/** One change of one table, as sources take it. */
export type TableChange = {readonly table: string; readonly change: SourceChange};

export type ResetReason = 'truncate' | 'reset' | 'changelog-pruned';

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

/** A connection holding a read transaction pinned at `version`, used by `refs` snapshotters. */
type Snap = {
  readonly db: Database.Database;
  readonly version: string;
  readonly floor: string;
  /** The probe's `data_version` read before pinning (see SnapshotPool.acquire). */
  dataVersion: number;
  refs: number;
};

type StateRow = {version: string; changelog_floor: string};

// When every client group held two connections of its own, SQLite's default page cache
// (2 MiB each) filled by one table scan made 50 groups cost ~200 MiB of zero-cache's RSS;
// the replica file stays in the OS page cache, so a small cache per connection costs
// little (pages are re-read with a syscall, not from disk).
const PAGE_CACHE_KIB = 256;

function openConnection(file: string): Database.Database {
  const db = new Database(file, {readonly: true, fileMustExist: true});
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  return db;
}

const STATE_SQL = `SELECT version, changelog_floor FROM _zync_replication_state WHERE id = 0`;
const RESET_SQL = `SELECT op FROM _zync_changelog WHERE version > ? AND version <= ?
  AND op IN ('truncate', 'reset') LIMIT 1`;
const CLIENTS_EXIST_SQL = `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_zync_clients'`;
const CLIENTS_SQL = `SELECT "clientID" AS c, "lastMutationID" AS m FROM _zync_clients
  WHERE "clientGroupID" = ?`;
const ENTRIES_SQL = `SELECT tbl, key FROM _zync_changelog WHERE version > ? AND version <= ?
  AND key IS NOT NULL ORDER BY version, seq`;

/**
 * The read connections of one replica file. A snapshot is a connection holding a read
 * transaction, and snapshotters at the same version share it: after one upstream write,
 * every client group advances to the same new version, and pinning it once instead of
 * once per group saves the read transaction's setup (and its page reads) for all but the
 * first. A shared pool checks with `PRAGMA data_version` on a spare connection whether
 * anything was committed since the newest snapshot was pinned, which costs a fraction
 * of pinning.
 */
export class SnapshotPool {
  readonly #file: string;
  readonly #shared: boolean;
  /** Prepared statements on the pool's connections, shared by its snapshotters. */
  readonly stmts = new StatementCache();
  readonly #free: Database.Database[] = [];
  #probe: Database.Statement | undefined;
  /** The snapshot pinned last, while some snapshotter holds it. */
  #latest: Snap | undefined;
  #closed = false;

  /**
   * `shared`: snapshotters acquiring the newest version may share a snapshot. A pool of
   * one snapshotter pins a fresh one every time (no probe connection).
   */
  constructor(file: string, shared = true) {
    this.#file = file;
    this.#shared = shared;
  }

  /** A snapshot of the newest version; give it back with `release`. */
  acquire(): Snap {
    if (this.#closed) throw new TypeError('the snapshot pool is closed');
    let dataVersion = 0;
    if (this.#shared) {
      this.#probe ??= openConnection(this.#file).prepare('PRAGMA data_version').pluck();
      dataVersion = this.#probe.get() as number;
      const latest = this.#latest;
      // Nothing was committed since before `latest` was pinned: it is the newest version.
      if (latest && latest.refs > 0 && latest.dataVersion === dataVersion) {
        latest.refs++;
        return latest;
      }
    }
    const db = this.#free.pop() ?? openConnection(this.#file);
    let snap: Snap;
    try {
      snap = this.#pin(db, dataVersion);
    } catch (e) {
      this.#free.push(db);
      throw e;
    }
    const latest = this.#latest;
    if (latest && latest.refs > 0 && latest.version === snap.version) {
      // Committed, but not a new version (a pruned change log, say): still the newest.
      this.release(snap);
      latest.dataVersion = dataVersion;
      latest.refs++;
      return latest;
    }
    if (this.#shared) this.#latest = snap;
    return snap;
  }

  /** Gives back one reference; the last one ends the read transaction. */
  release(snap: Snap): void {
    if (--snap.refs > 0) return;
    if (this.#latest === snap) this.#latest = undefined;
    try {
      this.stmts.get(snap.db, 'COMMIT').run();
    } catch {
      // Still busy (an iterator we do not know of): leave the connection to the GC.
      return;
    }
    if (this.#closed || this.#free.length >= MAX_FREE) closeQuietly(snap.db);
    else this.#free.push(snap.db);
  }

  /** Starts a read transaction and reads through it, which pins the snapshot. */
  #pin(db: Database.Database, dataVersion: number): Snap {
    this.stmts.get(db, 'BEGIN').run();
    const row = this.stmts.get(db, STATE_SQL).get() as StateRow | undefined;
    if (!row) {
      db.exec('ROLLBACK');
      throw new Error('the replica has not finished its initial copy');
    }
    return {db, version: row.version, floor: row.changelog_floor, dataVersion, refs: 1};
  }

  /** Closes the idle connections now and the others as they are released. */
  close(): void {
    this.#closed = true;
    for (const db of this.#free.splice(0)) closeQuietly(db);
    if (this.#probe) closeQuietly(this.#probe.database);
    this.#probe = undefined;
  }
}

/** Idle connections kept for the next versions (the spare of ping-pong, and one more). */
const MAX_FREE = 2;

function closeQuietly(db: Database.Database): void {
  try {
    db.close();
  } catch {
    // already closed
  }
}

class ResetStep {
  readonly kind = 'reset';
  readonly from: string;
  readonly version: string;
  readonly reason: ResetReason;
  readonly #next: Snap;
  readonly #commit: (next: Snap) => void;

  constructor(from: string, next: Snap, reason: ResetReason, commit: (next: Snap) => void) {
    this.from = from;
    this.version = next.version;
    this.reason = reason;
    this.#next = next;
    this.#commit = commit;
  }

  commit(): void {
    this.#commit(this.#next);
  }
}

class ChangesStep {
  readonly kind = 'changes';
  readonly from: string;
  readonly version: string;
  readonly #prev: Snap;
  readonly #next: Snap;
  readonly #range: ChangeLogRange;
  readonly #commit: (next: Snap) => void;
  readonly #diff: (from: Snap, next: Snap, range: ChangeLogRange) => Iterable<TableChange>;
  #committed = false;

  constructor(
    prev: Snap,
    next: Snap,
    range: ChangeLogRange,
    commit: (next: Snap) => void,
    diff: (from: Snap, next: Snap, range: ChangeLogRange) => Iterable<TableChange>,
  ) {
    this.from = prev.version;
    this.version = next.version;
    this.#prev = prev;
    this.#next = next;
    this.#range = range;
    this.#commit = commit;
    this.#diff = diff;
  }

  changes(): Iterable<TableChange> {
    return this.#diff(this.#prev, this.#next, this.#range);
  }

  commit(): void {
    if (this.#committed) return;
    this.#committed = true;
    this.#commit(this.#next);
  }
}

/** One key changed in a range of the change log, first occurrence first. */
type LogEntry = {readonly table: string; readonly id: string; readonly params: SqlParam[]};

/** A key's rows at both ends of a range, as raw values read with a source's select list. */
type NetRows = {
  readonly select: string;
  readonly old: readonly unknown[] | undefined;
  readonly now: readonly unknown[] | undefined;
  /** Present at both ends with the same values (a no-op update, or changed back). */
  readonly same: boolean;
};

/** What the change log says about the versions (from, to]. */
export type ChangeLogRange = {
  readonly reset: ResetReason | undefined;
  readonly entries: readonly LogEntry[];
  /** Filled as groups look keys up: the rows of one version never change. */
  readonly rows: Map<string, NetRows>;
};

/**
 * The decoded change log of the last few version ranges. One upstream write makes every
 * client group's snapshot (shared or not, see SnapshotPool) advance over the same (from, to]:
 * the first reads the log and looks the changed keys up, the others reuse it. A version
 * names one state of the replica, so what one connection read of it holds for all.
 */
export class ChangeLogCache {
  readonly #ranges = new Map<string, ChangeLogRange>();
  readonly #maxEntries: number;
  #entries = 0;

  /** `maxEntries` bounds the change-log entries held over all ranges. */
  constructor(maxEntries = 50_000) {
    this.#maxEntries = maxEntries;
  }

  get(from: string, to: string): ChangeLogRange | undefined {
    return this.#ranges.get(`${from}\u0000${to}`);
  }

  /** Keeps `range` unless it alone is over the bound, dropping the oldest to make room. */
  set(from: string, to: string, range: ChangeLogRange): void {
    const n = range.entries.length;
    if (n > this.#maxEntries) return;
    for (const [key, r] of this.#ranges) {
      if (this.#entries + n <= this.#maxEntries) break;
      this.#ranges.delete(key);
      this.#entries -= r.entries.length;
    }
    this.#ranges.set(`${from}\u0000${to}`, range);
    this.#entries += n;
  }

  /** Number of ranges held. */
  get size(): number {
    return this.#ranges.size;
  }
}

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
    this.#specs = this.#readSpecs(this.#cur.db);
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

  #readSpecs(db: Database.Database): Map<string, TableSpec> {
    const out = new Map<string, TableSpec>();
    for (const [name, {upstreamOid: _oid, ...spec}] of readTableSpecs(db)) out.set(name, spec);
    return out;
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
    this.#specs = this.#readSpecs(next.db);
  };

  readonly #moveTo = (next: Snap): void => {
    this.#swap(next);
    for (const s of this.#sources.values()) s.rebase();
  };

  readonly #diffOf = (from: Snap, next: Snap, range: ChangeLogRange): Iterable<TableChange> =>
    this.#diff(from, next, range);

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

  *#diff(from: Snap, next: Snap, range: ChangeLogRange): Iterable<TableChange> {
    for (const {table, id, params} of range.entries) {
      const source = this.#sources.get(table);
      if (!source) continue;
      let net = range.rows.get(id);
      if (!net || net.select !== source.selectList) {
        const sql = source.lookupSql;
        const old = this.#stmts.get(from.db, sql, true).get(...params) as unknown[] | undefined;
        const now = this.#stmts.get(next.db, sql, true).get(...params) as unknown[] | undefined;
        const same = old !== undefined && now !== undefined && sameValues(old, now);
        const fresh: NetRows = {select: source.selectList, old, now, same};
        if (!net) range.rows.set(id, fresh);
        net = fresh;
      }
      if (net.same) continue;
      const oldRow = net.old && source.fromValues(net.old);
      const row = net.now && source.fromValues(net.now);
      if (oldRow) source.remember(oldRow, oldRow);
      else if (row) source.remember(row, undefined);
      if (oldRow && row) yield {table, change: {type: 'edit', oldRow, row}};
      else if (oldRow) yield {table, change: {type: 'remove', row: oldRow}};
      else if (row) yield {table, change: {type: 'add', row}};
    }
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

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Reads the change log of (from, to] through a connection pinned at `to` (or later). */
function readRange(
  db: Database.Database,
  stmts: StatementCache,
  from: string,
  to: string,
): ChangeLogRange {
  const reset = (stmts.get(db, RESET_SQL).get(from, to) as {op: ResetReason} | undefined)?.op;
  const entries: LogEntry[] = [];
  if (!reset) {
    const seen = new Set<string>();
    for (const [table, key] of stmts.get(db, ENTRIES_SQL, true).all(from, to) as [
      string,
      string,
    ][]) {
      const id = `${table}\u0000${key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const params = (JSON.parse(key) as (string | number | boolean | null)[]).map(toParam);
      entries.push({table, id, params});
    }
  }
  return {reset, entries, rows: new Map()};
}
