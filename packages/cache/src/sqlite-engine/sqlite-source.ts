// A Source over one table of the SQLite replica. Reads go through the pinned read
// transaction of a snapshot (owned by the Snapshotter) plus an in-memory overlay of the
// changes pushed since that snapshot. Connections, pushes and push visibility come from
// the engine's SourceBase, which MemorySource extends too, so both behave exactly alike.
// Fetches run in source-connection.ts. See docs/sqlite-source.md.
import {quoteIdent} from '@zync/shared';
import type Database from 'better-sqlite3';
import type {TableSpec} from '../replica/table-spec.ts';
import {Connection} from './source-connection.ts';
import {keyOf, rowBuilder} from './source-rows.ts';
import {matchesKind, toParam, type ColumnKinds, type SqlParam} from './sqlite-filter.ts';
import {StatementCache} from './statement-cache.ts';
import {
  SourceBase,
  type Batcher,
  type ConnectionSpec,
  type PrimaryKey,
  type Row,
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

export class SQLiteSource extends SourceBase<Connection> {
  readonly spec: TableSpec;
  readonly kinds: ColumnKinds;
  /** Turns a row read in raw mode with `selectList` into engine values. */
  readonly fromValues: (values: readonly unknown[]) => Row;
  /** Every column of the spec, in spec order. */
  readonly selectList: string;
  readonly #snapshot: SnapshotHandle;
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
  #valid = true;
  /** Statement iterators not yet finished (a consumer may stop without closing them). */
  readonly #iterators = new Set<{return?(): unknown}>();

  constructor(snapshot: SnapshotHandle, spec: TableSpec, options: SQLiteSourceOptions = {}) {
    super(spec.name, primaryKeyOf(spec), options.batcher);
    this.spec = spec;
    this.#snapshot = snapshot;
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

  protected openConnection(spec: ConnectionSpec): Connection {
    return new Connection(this, spec);
  }

  /** The snapshot moved to a state that includes every pushed change: drop the overlay. */
  rebase(): void {
    if (this.pushing) throw new TypeError('rebase during a push');
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

  protected keyChanged(removed: Row, added: Row): boolean {
    return keyOf(removed, this.primaryKey) !== keyOf(added, this.primaryKey);
  }

  protected commit(added: Row | undefined, removed: Row | undefined): void {
    if (removed) this.#overlay.set(keyOf(removed, this.primaryKey), null);
    if (added) this.#overlay.set(keyOf(added, this.primaryKey), added);
  }

  get overlay(): ReadonlyMap<string, Row | null> {
    return this.#overlay;
  }
}

function primaryKeyOf(spec: TableSpec): PrimaryKey {
  if (spec.primaryKey.length === 0) throw new TypeError('a source needs a primary key');
  return spec.primaryKey as PrimaryKey;
}
