// Consistent reads of the replica for one set of pipelines. Two read connections take turns
// ("ping-pong"): the current one holds a read transaction pinned at version V; `advance()`
// pins the other at the newest version V', diffs (V, V'] from the change log, and once the
// caller has pushed every change into the sources, `commit()` moves the sources onto V'
// (dropping their overlays) and releases V. See docs/sqlite-source.md.
import Database from 'better-sqlite3';
import {readTableSpecs} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {quoteIdent, toParam, type SqlParam} from './sqlite-filter.ts';
import {SQLiteSource, type SnapshotHandle} from './sqlite-source.ts';
import type {Batcher, SourceChange} from '@zync/zql/ivm';

export type SnapshotterOptions = {
  /** Passed to every source: each push runs in one batch of it. */
  readonly batcher?: Batcher | undefined;
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

type Snap = {readonly db: Database.Database; readonly version: string; readonly floor: string};

type StateRow = {version: string; changelog_floor: string};

// Every client group holds two connections (the pinned snapshot and a spare). SQLite's
// default page cache (2 MiB each) filled by one table scan made 50 groups cost ~200 MiB of
// zero-cache's RSS; the replica file stays in the OS page cache, so a small cache per
// connection costs little (pages are re-read with a syscall, not from disk).
const PAGE_CACHE_KIB = 256;

function openConnection(file: string): Database.Database {
  const db = new Database(file, {readonly: true, fileMustExist: true});
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  return db;
}

/** Starts a read transaction and reads through it, which pins the snapshot. */
function pin(db: Database.Database): Snap {
  db.exec('BEGIN');
  const row = db
    .prepare(`SELECT version, changelog_floor FROM _zync_replication_state WHERE id = 0`)
    .get() as StateRow | undefined;
  if (!row) {
    db.exec('ROLLBACK');
    throw new Error('the replica has not finished its initial copy');
  }
  return {db, version: row.version, floor: row.changelog_floor};
}

function release(db: Database.Database, file: string): Database.Database {
  try {
    db.exec('COMMIT');
    return db;
  } catch {
    // Still busy (an iterator we do not know of): leave the connection to the GC.
    return openConnection(file);
  }
}

export class Snapshotter implements SnapshotHandle {
  readonly #file: string;
  readonly #batcher: Batcher | undefined;
  #cur: Snap;
  #spare: Database.Database;
  #specs: Map<string, TableSpec>;
  #sources = new Map<string, SQLiteSource>();
  #advancing = false;
  #closed = false;

  constructor(file: string, options: SnapshotterOptions = {}) {
    this.#file = file;
    this.#batcher = options.batcher;
    this.#cur = pin(openConnection(file));
    this.#spare = openConnection(file);
    this.#specs = this.#readSpecs(this.#cur.db);
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
    const next = pin(this.#spare);
    const from = this.#cur;
    if (next.version === from.version) {
      this.#spare = release(next.db, this.#file);
      return {kind: 'none', version: from.version};
    }
    this.#advancing = true;
    const reason = this.#resetReason(from, next);
    if (reason) {
      return {
        kind: 'reset',
        from: from.version,
        version: next.version,
        reason,
        commit: () => {
          this.#swap(next);
          for (const s of this.#sources.values()) s.invalidate();
          this.#sources = new Map();
          this.#specs = this.#readSpecs(next.db);
        },
      };
    }
    let committed = false;
    return {
      kind: 'changes',
      from: from.version,
      version: next.version,
      changes: () => this.#diff(from, next),
      commit: () => {
        if (committed) return;
        committed = true;
        this.#swap(next);
        for (const s of this.#sources.values()) s.rebase();
      },
    };
  }

  #swap(next: Snap): void {
    for (const s of this.#sources.values()) s.closeIterators();
    const old = this.#cur;
    this.#cur = next;
    this.#spare = release(old.db, this.#file);
    this.#advancing = false;
  }

  #resetReason(from: Snap, next: Snap): ResetReason | undefined {
    if (next.floor > from.version) return 'changelog-pruned';
    const row = next.db
      .prepare(
        `SELECT op FROM _zync_changelog WHERE version > ? AND version <= ?
           AND op IN ('truncate', 'reset') LIMIT 1`,
      )
      .get(from.version, next.version) as {op: ResetReason} | undefined;
    return row?.op;
  }

  *#diff(from: Snap, next: Snap): Iterable<TableChange> {
    const entries = next.db
      .prepare(
        `SELECT tbl, key FROM _zync_changelog WHERE version > ? AND version <= ?
           AND key IS NOT NULL ORDER BY version, seq`,
      )
      .all(from.version, next.version) as {tbl: string; key: string}[];
    const seen = new Set<string>();
    const lookups = new Map<string, {old: Database.Statement; now: Database.Statement}>();
    for (const {tbl, key} of entries) {
      const source = this.#sources.get(tbl);
      if (!source) continue;
      const id = `${tbl}\u0000${key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      let stmts = lookups.get(tbl);
      if (!stmts) {
        const sql = `SELECT ${source.selectList} FROM ${quoteIdent(tbl)} WHERE ${source.primaryKey
          .map(k => `${quoteIdent(k)} IS ?`)
          .join(' AND ')}`;
        stmts = {old: from.db.prepare(sql), now: next.db.prepare(sql)};
        lookups.set(tbl, stmts);
      }
      const params = (JSON.parse(key) as (string | number | boolean | null)[]).map((v): SqlParam =>
        toParam(v),
      );
      const oldRaw = stmts.old.get(...params) as Record<string, unknown> | undefined;
      const newRaw = stmts.now.get(...params) as Record<string, unknown> | undefined;
      if (oldRaw && newRaw) {
        if (sameRaw(oldRaw, newRaw)) continue;
        const change: SourceChange = {
          type: 'edit',
          oldRow: source.convert(oldRaw),
          row: source.convert(newRaw),
        };
        yield {table: tbl, change};
      } else if (oldRaw) {
        yield {table: tbl, change: {type: 'remove', row: source.convert(oldRaw)}};
      } else if (newRaw) {
        yield {table: tbl, change: {type: 'add', row: source.convert(newRaw)}};
      }
    }
  }

  /** The last mutation ids of a group's clients in the pinned snapshot. */
  lastMutationIDs(clientGroupID: string): Record<string, number> {
    const db = this.db;
    const exists = db
      .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_zync_clients'`)
      .get();
    if (!exists) return {};
    const rows = db
      .prepare(
        `SELECT "clientID" AS c, "lastMutationID" AS m FROM _zync_clients WHERE "clientGroupID" = ?`,
      )
      .all(clientGroupID) as {c: string; m: number}[];
    const out: Record<string, number> = {};
    for (const r of rows) out[r.c] = Number(r.m);
    return out;
  }

  /** Releases both connections. Sources must not be used afterwards. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sources.values()) s.invalidate();
    this.#sources.clear();
    for (const db of [this.#cur.db, this.#spare]) {
      try {
        db.close();
      } catch {
        // already closed
      }
    }
  }
}

function sameRaw(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  for (const k in a) if (a[k] !== b[k]) return false;
  return true;
}
