// A Source over one table of the SQLite replica. Reads go through the pinned read
// transaction of a snapshot (owned by the Snapshotter) plus an in-memory overlay of the
// changes pushed since that snapshot; push visibility mirrors MemorySource exactly.
// See docs/sqlite-source.md.
import type Database from 'better-sqlite3';
import type {Condition, Ordering} from '@zync/protocol';
import {fromReplicaValue} from '../replica/open-replica.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {
  compileFilter,
  isOrderSafe,
  matchesKind,
  quoteIdent,
  toParam,
  type ColumnKinds,
  type SqlParam,
} from './sqlite-filter.ts';
import {
  compileRowPredicate,
  completeOrdering,
  makeComparator,
  NO_RELATIONSHIPS,
  type Batcher,
  type Comparator,
  type ConnectOptions,
  type FetchRequest,
  type Node,
  type Output,
  type PrimaryKey,
  type Row,
  type RowPredicate,
  type Source,
  type SourceChange,
  type SourceInput,
  type SourceSchema,
  type Value,
  filteredChange,
  pushToConnections,
  splitKeyChanged,
} from '@zync/zql/ivm';

/** Where a source reads: the pinned read connection of the current snapshot. */
export interface SnapshotHandle {
  readonly db: Database.Database;
  /** Shared prepared statements (the Snapshotter shares them among client groups). */
  readonly statements?: StatementCache | undefined;
}

/**
 * Prepared statements by connection and SQL. Preparing costs more than running a small
 * query, and client groups that share a pinned connection run the same few shapes. A
 * statement is busy while an iterator over it is open (nested fetches of one shape, a
 * self-join, or another group's fetch), so each SQL keeps a small pool.
 */
export class StatementCache {
  readonly #byDb = new WeakMap<Database.Database, Map<string, Database.Statement[]>>();

  /** A statement of `sql` on `db` that no iterator is using; `raw`: rows as value arrays. */
  get(db: Database.Database, sql: string, raw = false): Database.Statement {
    let m = this.#byDb.get(db);
    if (!m) {
      m = new Map();
      this.#byDb.set(db, m);
    }
    const key = raw ? 'r' + sql : 'o' + sql;
    let pool = m.get(key);
    if (!pool) {
      pool = [];
      m.set(key, pool);
    }
    for (const s of pool) if (!s.busy) return s;
    const s = db.prepare(sql);
    if (raw) s.raw(true);
    pool.push(s);
    return s;
  }
}

export type SQLiteSourceOptions = {
  /** Every push runs inside a batch of this batcher, so views flush once per change. */
  readonly batcher?: Batcher | undefined;
};

type Transient = {readonly add: Row | undefined; readonly remove: Row | undefined};
const NONE: Transient = {add: undefined, remove: undefined};
const NULL_OUTPUT: Output = {push: () => {}};

/** A stable string for a row's primary key (distinguishes 1 from '1'). */
export function keyOf(row: Row, pk: readonly string[]): string {
  let s = '';
  for (const c of pk) {
    const v = row[c];
    s += (typeof v === 'string' ? 's' + v.length + ':' + v : String(v)) + '|';
  }
  return s;
}

/**
 * Builds the function that turns one row read in raw mode (values in spec column order)
 * into engine values, as `fromReplicaValue` does: 0/1 → booleans, JSON text → values; TEXT
 * and REAL/INTEGER affinity columns already hold strings and numbers.
 *
 * Raw arrays plus one object literal per row cost about half of what better-sqlite3's own
 * row objects do (it defines every property of every row one by one), so the builder is
 * generated once per table: the literal gives V8 one fixed shape for all rows.
 */
export function rowBuilder(spec: TableSpec): (values: readonly unknown[]) => Row {
  const names = Object.keys(spec.columns);
  const kinds = names.map(n => spec.columns[n]!.kind);
  const json = (v: unknown) => fromReplicaValue('json', v);
  if (names.includes('__proto__')) {
    // An object literal would set the prototype instead; define the property instead.
    return values =>
      Object.fromEntries(
        names.map((n, i) => {
          const v = values[i];
          const k = kinds[i];
          return [n, k === 'boolean' || k === 'json' ? fromReplicaValue(k, v) : v];
        }),
      ) as Row;
  }
  const props = names.map((n, i) => {
    const v = `v[${i}]`;
    switch (kinds[i]) {
      case 'boolean':
        return `${JSON.stringify(n)}: ${v} === null ? null : ${v} === 1`;
      case 'json':
        return `${JSON.stringify(n)}: ${v} === null ? null : json(${v})`;
      default:
        return `${JSON.stringify(n)}: ${v}`;
    }
  });
  // The source text holds only quoted column names and fixed expressions.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('json', `return v => ({${props.join(', ')}});`) as (
    j: typeof json,
  ) => (values: readonly unknown[]) => Row;
  return make(json);
}

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

/** Rows a fetch reads by stepping an iterator before it reads on in pages. */
const ITERATED_ROWS = 256;
/** Rows of the first page read with `all()`; later pages double up to MAX_PAGE_ROWS. */
const FIRST_PAGE_ROWS = 1024;
const MAX_PAGE_ROWS = 4096;

class Connection implements SourceInput {
  readonly ordering: Ordering;
  readonly filter: Condition | undefined;
  readonly splitEditKeys: readonly string[];
  readonly #source: SQLiteSource;
  readonly #predicate: RowPredicate;
  readonly #hasFilter: boolean;
  readonly #schema: SourceSchema;
  readonly #compare: Comparator;
  readonly #where: string;
  readonly #whereParams: readonly SqlParam[];
  /** The SQL filter is exactly the predicate: rows from SQL need no JS check. */
  readonly #exact: boolean;
  /** The SQL of each request shape this connection has run. */
  readonly #shapes = new Map<string, string>();
  #output: Output = NULL_OUTPUT;

  constructor(
    source: SQLiteSource,
    ordering: Ordering,
    filter: Condition | undefined,
    splitEditKeys: readonly string[],
  ) {
    this.#source = source;
    this.ordering = ordering;
    this.filter = filter;
    this.splitEditKeys = splitEditKeys;
    this.#predicate = compileRowPredicate(filter);
    this.#hasFilter = filter !== undefined;
    this.#compare = makeComparator(ordering);
    this.#schema = {
      tableName: source.tableName,
      primaryKey: source.primaryKey,
      ordering,
      compareRows: this.#compare,
      relationships: {},
    };
    const frag = compileFilter(filter, source.kinds);
    this.#where = frag.sql;
    this.#whereParams = frag.params;
    this.#exact = frag.exact;
  }

  getSchema(): SourceSchema {
    return this.#schema;
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#source.disconnect(this);
  }

  changesSplitKey(oldRow: Row, row: Row): boolean {
    return splitKeyChanged(this.splitEditKeys, oldRow, row);
  }

  pushChange(type: 'add' | 'remove' | 'edit', row: Row, oldRow: Row | undefined): void {
    const change = filteredChange(type, row, oldRow, this.#hasFilter ? this.#predicate : undefined);
    if (change) this.#output.push(change);
  }

  #statement(key: string, build: () => string): Database.Statement {
    let sql = this.#shapes.get(key);
    if (sql === undefined) {
      sql = build();
      this.#shapes.set(key, sql);
    }
    return this.#source.statement(sql);
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    const source = this.#source;
    const kinds = source.kinds;
    const constraint = req.constraint;
    const reverse = req.reverse === true;
    const start = req.start;
    const conds: string[] = [];
    const params: SqlParam[] = [];
    let key = reverse ? 'r' : 'f';
    if (constraint) {
      for (const k of Object.keys(constraint).sort()) {
        const v = constraint[k];
        const kind = kinds[k];
        // A value of another type (or null) never equals a column's value in JS.
        if (v === null || v === undefined || kind === undefined || !matchesKind(kind, v)) return;
        conds.push(`${quoteIdent(k)} = ?`);
        params.push(toParam(v));
        key += `c${k.length}:${k}`;
      }
    }
    if (this.#where !== '1') {
      conds.push(`(${this.#where})`);
      params.push(...this.#whereParams);
    }
    // Without the start bound: what later pages add their own bound to.
    const baseConds = conds.length;
    const baseParams = params.length;
    const baseKey = key;
    let jsStart = false;
    if (start) {
      const bound = this.#startBound(start.row, start.basis === 'after', reverse);
      if (bound) {
        conds.push(bound.sql);
        params.push(...bound.params);
        key += bound.key;
      } else jsStart = true;
    }
    const order = () =>
      this.ordering
        .map(([c, d]) => `${quoteIdent(c)} ${(d === 'asc') !== reverse ? 'ASC' : 'DESC'}`)
        .join(', ');
    const select = (cs: readonly string[]) =>
      `SELECT ${source.selectList} FROM ${quoteIdent(source.tableName)}${
        cs.length ? ` WHERE ${cs.join(' AND ')}` : ''
      } ORDER BY ${order()}`;
    const stmt = this.#statement(key, () => select(conds));

    const compare = this.#compare;
    const dir = reverse ? -1 : 1;
    const after = start?.basis === 'after';
    const accept = (row: Row, fromSql: boolean): boolean => {
      if (this.#hasFilter && !(fromSql && this.#exact) && !this.#predicate(row)) return false;
      if (start && (jsStart || !fromSql)) {
        const c = compare(row, start.row) * dir;
        if (c < 0 || (c === 0 && after)) return false;
      }
      return true;
    };
    const fromValues = source.fromValues;
    const overlay = source.overlay;
    const t = source.transientFor(this);
    const needsCheck = (this.#hasFilter && !this.#exact) || jsStart;
    if (overlay.size === 0 && !t.add && !t.remove && !jsStart) {
      // The first rows come from stepping an iterator, so that a consumer that stops early
      // (a limit, an exists check) reads only what it takes. Past ITERATED_ROWS the rest
      // is read in pages with `all()`: better-sqlite3 returns a page in one call, which
      // costs much less per row than a step (a 100k-row scan: ~125 → ~85 ms). Each page
      // starts after the last row read (the ordering ends with the primary key).
      let last: Row | undefined;
      let n = 0;
      // Set when the snapshot moves on (closeIterators) while this fetch is suspended.
      const handle = {closed: false, return: () => (handle.closed = true)};
      source.track(handle);
      try {
        const iter = stmt.iterate(...params) as IterableIterator<unknown[]>;
        source.track(iter);
        try {
          for (const values of iter) {
            const row = fromValues(values);
            last = row;
            if (!needsCheck || accept(row, true)) {
              yield {row, relationships: NO_RELATIONSHIPS};
              if (handle.closed) return;
            }
            if (++n === ITERATED_ROWS) break;
          }
        } finally {
          source.untrack(iter);
          iter.return?.();
        }
        if (n < ITERATED_ROWS || last === undefined) return;
        let page = FIRST_PAGE_ROWS;
        for (;;) {
          const bound = this.#startBound(last, true, reverse);
          if (!bound) {
            // The last row's values cannot be bound in SQL: read on past it unpaged.
            const after = last;
            yield* this.#iterate(
              stmt,
              params,
              row => compare(row, after) * dir > 0 && (!needsCheck || accept(row, true)),
            );
            return;
          }
          const next = this.#statement(
            `${baseKey}${bound.key}L`,
            () => `${select([...conds.slice(0, baseConds), bound.sql])} LIMIT ?`,
          );
          const values = next.all(
            ...params.slice(0, baseParams),
            ...bound.params,
            page,
          ) as unknown[][];
          for (let i = 0; i < values.length; i++) {
            const row = fromValues(values[i] as unknown[]);
            last = row;
            if (needsCheck && !accept(row, true)) continue;
            yield {row, relationships: NO_RELATIONSHIPS};
            if (handle.closed) return;
          }
          if (values.length < page) return;
          page = Math.min(page * 2, MAX_PAGE_ROWS);
        }
      } finally {
        source.untrack(handle);
      }
    }
    if (overlay.size === 0 && !t.add && !t.remove) {
      yield* this.#iterate(stmt, params, needsCheck ? row => accept(row, true) : undefined);
      return;
    }

    const iter = stmt.iterate(...params) as IterableIterator<unknown[]>;
    source.track(iter);
    try {
      // Merge the snapshot's rows with the rows the overlay holds, in iteration order.
      const pk = source.primaryKey;
      const removedKey = t.remove ? keyOf(t.remove, pk) : undefined;
      const addedKey = t.add ? keyOf(t.add, pk) : undefined;
      const extras: Row[] = [];
      const consider = (row: Row) => {
        if (constraint) for (const k in constraint) if (row[k] !== constraint[k]) return;
        if (accept(row, false)) extras.push(row);
      };
      for (const [k, row] of overlay) {
        if (row && k !== removedKey && k !== addedKey) consider(row);
      }
      if (t.add) consider(t.add);
      extras.sort((a, b) => compare(a, b) * dir);
      let i = 0;
      for (const values of iter) {
        const row = fromValues(values);
        const k = keyOf(row, pk);
        if (overlay.has(k) || k === removedKey || k === addedKey) continue;
        if (!accept(row, true)) continue;
        while (i < extras.length && compare(extras[i] as Row, row) * dir < 0) {
          yield {row: extras[i++] as Row, relationships: NO_RELATIONSHIPS};
        }
        yield {row, relationships: NO_RELATIONSHIPS};
      }
      while (i < extras.length) yield {row: extras[i++] as Row, relationships: NO_RELATIONSHIPS};
    } finally {
      source.untrack(iter);
      iter.return?.();
    }
  }

  /** The rows of `stmt` that pass `keep` (all if none), stepping its iterator. */
  *#iterate(
    stmt: Database.Statement,
    params: readonly SqlParam[],
    keep: ((row: Row) => boolean) | undefined,
  ): Iterable<Node> {
    const source = this.#source;
    const fromValues = source.fromValues;
    const iter = stmt.iterate(...params) as IterableIterator<unknown[]>;
    source.track(iter);
    try {
      for (const values of iter) {
        const row = fromValues(values);
        if (keep && !keep(row)) continue;
        yield {row, relationships: NO_RELATIONSHIPS};
      }
    } finally {
      source.untrack(iter);
      iter.return?.();
    }
  }

  /**
   * `(ordering) >= / > (start)` in iteration direction, with the engine's null order
   * (null first ascending). Undefined when a start value's type differs from its column's
   * (SQLite would coerce it); the caller then skips in JS.
   */
  #startBound(
    startRow: Row,
    after: boolean,
    reverse: boolean,
  ): {sql: string; params: SqlParam[]; key: string} | undefined {
    const cols: {name: string; asc: boolean; v: Value}[] = [];
    let key = after ? 'a' : 's';
    for (const [name, d] of this.ordering) {
      const v = startRow[name];
      if (v === undefined) return undefined;
      const kind = this.#source.kinds[name];
      if (v !== null && (kind === undefined || !matchesKind(kind, v))) return undefined;
      if (typeof v === 'string' && !isOrderSafe(v)) return undefined;
      const asc = (d === 'asc') !== reverse;
      cols.push({name, asc, v});
      key += (asc ? '+' : '-') + (v === null ? 'n' : 'v');
    }
    const params: SqlParam[] = [];
    if (cols.every(c => c.asc && c.v !== null)) {
      // Row-value comparison: SQLite seeks the index directly.
      for (const c of cols) params.push(toParam(c.v));
      const names = cols.map(c => quoteIdent(c.name)).join(', ');
      return {
        sql: `(${names}) ${after ? '>' : '>='} (${cols.map(() => '?').join(', ')})`,
        params,
        key: key + 'R',
      };
    }
    // Expanded: c1 ≻ v1 OR (c1 = v1 AND (c2 ≻ v2 OR (c2 = v2 AND ...))).
    const build = (i: number): string => {
      const c = cols[i];
      if (!c) return after ? '0' : '1';
      const col = quoteIdent(c.name);
      let gt: string;
      let eq: string;
      if (c.v === null) {
        gt = c.asc ? `${col} IS NOT NULL` : '0';
        eq = `${col} IS NULL`;
      } else {
        params.push(toParam(c.v));
        gt = c.asc ? `${col} > ?` : `(${col} < ? OR ${col} IS NULL)`;
        params.push(toParam(c.v));
        eq = `${col} = ?`;
      }
      return `(${gt} OR (${eq} AND ${build(i + 1)}))`;
    };
    const sql = build(0);
    const first = cols[0];
    // A leading range term lets SQLite seek the index on the first column.
    if (first && first.asc && first.v !== null) {
      return {
        sql: `${quoteIdent(first.name)} >= ? AND ${sql}`,
        params: [toParam(first.v), ...params],
        key,
      };
    }
    return {sql, params, key};
  }
}
