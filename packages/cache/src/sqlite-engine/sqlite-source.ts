// A Source over one table of the SQLite replica. Reads go through the pinned read
// transaction of a snapshot (owned by the Snapshotter) plus an in-memory overlay of the
// changes pushed since that snapshot; push visibility mirrors MemorySource exactly.
// Fetches run in source-connection.ts. See docs/sqlite-source.md.
import type Database from 'better-sqlite3';
import type {Ordering} from '@zync/protocol';
import type {TableSpec} from '../replica/table-spec.ts';
import {Connection} from './source-connection.ts';
import {keyOf, rowBuilder} from './source-rows.ts';
import {
  matchesKind,
  quoteIdent,
  toParam,
  type ColumnKinds,
  type SqlParam,
} from './sqlite-filter.ts';
import {StatementCache} from './statement-cache.ts';
import {
  completeOrdering,
  type Batcher,
  type ConnectOptions,
  type PrimaryKey,
  type Row,
  type Source,
  type SourceChange,
  type SourceInput,
  pushToConnections,
} from '@zync/zql/ivm';

export {keyOf, rowBuilder} from './source-rows.ts';
export {StatementCache} from './statement-cache.ts';

/** Where a source reads: the pinned read connection of the current snapshot. */
export interface SnapshotHandle {
  readonly db: Database.Database;
  /** Shared prepared statements (the Snapshotter shares them among client groups). */
  readonly statements?: StatementCache | undefined;
}

export type SQLiteSourceOptions = {
  /** Every push runs inside a batch of this batcher, so views flush once per change. */
  readonly batcher?: Batcher | undefined;
};

type Transient = {readonly add: Row | undefined; readonly remove: Row | undefined};
const NONE: Transient = {add: undefined, remove: undefined};

export class SQLiteSource implements Source {
  readonly tableName: string;
  readonly primaryKey: PrimaryKey;
  readonly spec: TableSpec;
  readonly kinds: ColumnKinds;
  /** Turns a row read in raw mode with `selectList` into engine values. */
  readonly fromValues: (values: readonly unknown[]) => Row;
  /** Every column of the spec, in spec order. */
  readonly selectList: string;
  readonly #snapshot: SnapshotHandle;
  readonly #batcher: Batcher | undefined;
  readonly #connections: Connection[] = [];
  readonly #statements: StatementCache;
  /** Selects one row by primary key (`IS`, so the harness's null keys are found too). */
  readonly lookupSql: string;
  /** Changes pushed since the snapshot: primary key → row now, or null if deleted. */
  readonly #overlay = new Map<string, Row | null>();
  /**
   * Snapshot rows (null: absent) the snapshotter's diff already read from this snapshot, so
   * that pushing its changes does not look every key up again. Valid until the snapshot moves.
   */
  readonly #known = new Map<string, Row | null>();
  #pushIndex = -1;
  #full: Transient = NONE;
  #current: Transient = NONE;
  #valid = true;
  /** Statement iterators not yet finished (a consumer may stop without closing them). */
  readonly #iterators = new Set<{return?(): unknown}>();

  constructor(snapshot: SnapshotHandle, spec: TableSpec, options: SQLiteSourceOptions = {}) {
    if (spec.primaryKey.length === 0) throw new TypeError('a source needs a primary key');
    this.tableName = spec.name;
    this.primaryKey = spec.primaryKey as PrimaryKey;
    this.spec = spec;
    this.#snapshot = snapshot;
    this.#batcher = options.batcher;
    const kinds: Record<string, ColumnKinds[string]> = {};
    for (const [name, c] of Object.entries(spec.columns)) kinds[name] = c.kind;
    this.kinds = kinds;
    this.fromValues = rowBuilder(spec);
    this.selectList = Object.keys(spec.columns).map(quoteIdent).join(', ');
    this.lookupSql = `SELECT ${this.selectList} FROM ${quoteIdent(this.tableName)} WHERE ${this.primaryKey
      .map(k => `${quoteIdent(k)} IS ?`)
      .join(' AND ')}`;
    this.#statements = snapshot.statements ?? new StatementCache();
  }

  /** A statement of `sql` on the snapshot's connection, rows as value arrays. */
  statement(sql: string): Database.Statement {
    return this.#statements.get(this.db, sql, true);
  }

  get db(): Database.Database {
    if (!this.#valid) throw new TypeError(`source ${this.tableName} was invalidated by a reset`);
    return this.#snapshot.db;
  }

  /** Number of keys changed since the snapshot. */
  get overlaySize(): number {
    return this.#overlay.size;
  }

  connect(ordering: Ordering, options: ConnectOptions = {}): SourceInput {
    const conn = new Connection(
      this,
      completeOrdering(ordering, this.primaryKey),
      options.filter,
      options.splitEditKeys ?? [],
    );
    this.#connections.push(conn);
    return conn;
  }

  disconnect(conn: Connection): void {
    const i = this.#connections.indexOf(conn);
    if (i >= 0) this.#connections.splice(i, 1);
  }

  /** The snapshot moved to a state that includes every pushed change: drop the overlay. */
  rebase(): void {
    if (this.#pushIndex >= 0) throw new TypeError('rebase during a push');
    // Most sources saw no change: clearing an empty Map still allocates a new table.
    if (this.#overlay.size > 0) this.#overlay.clear();
    if (this.#known.size > 0) this.#known.clear();
  }

  /**
   * Records what the current snapshot holds under the primary key of `keyRow`: `row`, or
   * nothing. Only for rows read from this very snapshot (the snapshotter's diff).
   */
  remember(keyRow: Row, row: Row | undefined): void {
    this.#known.set(keyOf(keyRow, this.primaryKey), row ?? null);
  }

  /** The table changed shape or was truncated: every later read throws. */
  invalidate(): void {
    this.#valid = false;
    this.#known.clear();
    this.closeIterators();
  }

  /**
   * Closes statement iterators still open on the snapshot's connection, which SQLite would
   * otherwise keep busy (no COMMIT, no close). A consumer holding one sees it end.
   */
  closeIterators(): void {
    for (const it of this.#iterators) it.return?.();
    this.#iterators.clear();
  }

  track(it: {return?(): unknown}): void {
    this.#iterators.add(it);
  }

  untrack(it: {return?(): unknown}): void {
    this.#iterators.delete(it);
  }

  /** The current row (snapshot + overlay) with the primary key of `row`, if any. */
  get(row: Row): Row | undefined {
    const key = keyOf(row, this.primaryKey);
    const o = this.#overlay.get(key);
    if (o !== undefined) return o ?? undefined;
    const k = this.#known.get(key);
    if (k !== undefined) return k ?? undefined;
    return this.#getFromSnapshot(row);
  }

  #getFromSnapshot(row: Row): Row | undefined {
    const params: SqlParam[] = [];
    for (const k of this.primaryKey) {
      const v = row[k];
      if (v === undefined || (v !== null && !matchesKind(this.kinds[k] ?? 'json', v))) {
        return undefined;
      }
      params.push(toParam(v));
    }
    const stmt = this.statement(this.lookupSql);
    const values = stmt.get(...params) as unknown[] | undefined;
    return values ? this.fromValues(values) : undefined;
  }

  push(change: SourceChange): void {
    let added: Row | undefined;
    let removed: Row | undefined;
    if (change.type === 'add') {
      if (this.get(change.row)) throw new TypeError(`Row already exists in ${this.tableName}`);
      added = change.row;
    } else {
      removed = this.get(change.type === 'edit' ? change.oldRow : change.row);
      if (!removed) throw new TypeError(`Row not found in ${this.tableName}`);
      if (change.type === 'edit') added = change.row;
    }
    const removedKey = removed && keyOf(removed, this.primaryKey);
    const addedKey = added && keyOf(added, this.primaryKey);
    const pkChanged = !!added && !!removed && removedKey !== addedKey;
    if (pkChanged && this.get(added as Row)) {
      throw new TypeError(`Row already exists in ${this.tableName}`);
    }
    this.#batcher?.begin();
    try {
      this.#full = {add: added, remove: removed};
      pushToConnections(this.#connections, added, removed, pkChanged, (conn, overlay) => {
        this.#pushIndex = this.#connections.indexOf(conn);
        this.#current = overlay;
      });
    } finally {
      this.#pushIndex = -1;
      this.#full = NONE;
      this.#current = NONE;
      if (removedKey !== undefined) this.#overlay.set(removedKey, null);
      if (addedKey !== undefined) this.#overlay.set(addedKey, added as Row);
      this.#batcher?.end();
    }
  }

  transientFor(conn: Connection): Transient {
    if (this.#pushIndex < 0) return NONE;
    const i = this.#connections.indexOf(conn);
    if (i < this.#pushIndex) return this.#full;
    if (i === this.#pushIndex) return this.#current;
    return NONE;
  }

  get overlay(): ReadonlyMap<string, Row | null> {
    return this.#overlay;
  }
}
