// The client's copy of the server's rows: one in-memory MemorySource per table (what
// queries run on) kept in step with the local store (what survives a reload).
import type {PokeBody, RowPatchOp} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '@zync/zql';
import type {Row, Value} from '@zync/zql/ivm';
import {Batcher, MemorySource} from '@zync/zql/ivm';
import {vouchFrozenJSON} from '../kv/frozen-json.ts';
import type {Store} from '../kv/store.ts';
import {canScan} from '../kv/store.ts';

/** Rows as stored before buckets (one key per row); read and migrated on load. */
export const ROW_PREFIX = 'r/';
/**
 * Rows are stored in buckets, `b/<table>/<hh>`, each an array of rows. One IndexedDB record
 * per row made a 10k-row poke cost ~10k puts (~0.5 s in Chromium); buckets make it a few
 * hundred. A row's bucket is a hash of its row key, so a small change rewrites one small
 * bucket. Earlier builds stored each bucket as an object of row key → row; those are read
 * too, and rewritten as arrays when next touched. Arrays because a bucket object's keys
 * are ~100k distinct property names per 100k rows, which cost the most of a large poke
 * both to build and to copy (structured clone, for IndexedDB, is ~4× slower on them).
 */
export const BUCKET_PREFIX = 'b/';
const BUCKETS = 256;
export const META_VERSION = 'm/version';
export const META_GOT = 'm/gotQueries';
export const META_CLIENT_GROUP = 'm/clientGroupID';
export const META_LMIDS = 'm/lmids';

export type KVOp = {readonly key: string; readonly value: ReadonlyJSONValue | undefined};

/** The server's rows of one table by row key (a read-only view of its buckets). */
export interface ServerRows {
  readonly size: number;
  get(key: string): Row | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<Row>;
  entries(): IterableIterator<[string, Row]>;
}

/**
 * A row's entry in its bucket map: the primary key value itself when the key is one column
 * of a primitive value (no string to build and keep per row), else the key's JSON. (A
 * string value could meet the JSON of an object value only if one key column held both,
 * which column types rule out.)
 */
type MapKey = string | number | boolean | null;

/**
 * One client table. Its server rows live only in their buckets (one map per bucket, by
 * `MapKey`); there is no map of all rows, so a row costs one map entry.
 */
type TableState = {
  readonly table: string;
  readonly primaryKey: readonly string[];
  /** The primary key column when there is only one. */
  readonly pkCol: string | undefined;
  readonly src: MemorySource;
  /** `r/<table>/`, and the FNV-1a state after hashing it. */
  readonly keyPrefix: string;
  readonly prefixHash: number;
  readonly buckets: (Map<MapKey, Row> | undefined)[];
  /** Whether each bucket changed since it was last written (1) or not (0). */
  readonly touched: Uint8Array;
  /**
   * Whether each bucket holds rows this state did not build from a poke (1: rows read from
   * the store, or not plain JSON), which the memory store must check before keeping them.
   */
  readonly foreign: Uint8Array;
  readonly bucketKeys: (string | undefined)[];
  size: number;
};

/** A row op of a poke part, in client names and frozen, waiting for its poke. */
export type PreparedRowOp =
  | {readonly op: 'clear'}
  | {readonly op: 'put'; readonly names: TableNames; readonly row: Row; readonly plain: boolean}
  | {readonly op: 'puts'; readonly names: TableNames; readonly rows: readonly Row[]}
  | {readonly op: 'del'; readonly names: TableNames; readonly id: Row};

const CLEAR: PreparedRowOp = Object.freeze({op: 'clear'});

type TableNames = {
  readonly state: TableState;
  /** [server column, client column], in client schema order. */
  readonly columns: readonly (readonly [string, string])[];
  /** Every column has the same name on both sides. */
  readonly sameNames: boolean;
};

/** JSON of a primary key value as an element of a JSON array (undefined → null). */
function keyPartJSON(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (v === undefined || v === null) return 'null';
  return JSON.stringify(v) ?? 'null';
}

/** `JSON.stringify` of the array of a row's primary key values (undefined → null). */
function primaryKeyJSON(primaryKey: readonly string[], row: Row): string {
  if (primaryKey.length === 1) return `[${keyPartJSON(row[primaryKey[0]!])}]`;
  let s = '[';
  for (let i = 0; i < primaryKey.length; i++) {
    if (i > 0) s += ',';
    s += keyPartJSON(row[primaryKey[i]!]);
  }
  return s + ']';
}

const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a (32 bits) continued from state `h` over `s`. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** The bucket of a row key, from the FNV-1a hash of the whole key. */
function bucketIndex(hash: number): number {
  return (hash >>> 0) % BUCKETS;
}

const digits = new Uint8Array(16);

/**
 * FNV-1a of `r/<table>/` + `primaryKeyJSON` of `row`, without building that string for the
 * common keys (one integer or one string that JSON writes without escapes).
 */
function rowHash(st: TableState, row: Row): number {
  if (st.pkCol !== undefined) {
    const v = row[st.pkCol];
    let h = st.prefixHash;
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      h = Math.imul(h ^ 0x5b, 0x01000193); // [
      let n = v;
      if (n < 0) {
        h = Math.imul(h ^ 0x2d, 0x01000193); // -
        n = -n;
      }
      let len = 0;
      do {
        const d = n % 10;
        digits[len++] = d;
        n = (n - d) / 10;
      } while (n > 0);
      while (len > 0) h = Math.imul(h ^ (0x30 + digits[--len]!), 0x01000193);
      return Math.imul(h ^ 0x5d, 0x01000193); // ]
    }
    if (typeof v === 'string') {
      h = Math.imul(Math.imul(h ^ 0x5b, 0x01000193) ^ 0x22, 0x01000193); // ["
      let plain = true;
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        // JSON escapes these (lone surrogates too; any surrogate takes the slow path).
        if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
          plain = false;
          break;
        }
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (plain) return Math.imul(Math.imul(h ^ 0x22, 0x01000193) ^ 0x5d, 0x01000193); // "]
    }
  }
  return fnv(st.prefixHash, primaryKeyJSON(st.primaryKey, row));
}

function mapKeyOf(st: TableState, row: Row): MapKey {
  if (st.pkCol !== undefined) {
    const v = row[st.pkCol];
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        // JSON writes NaN and the infinities as null (and -0 as 0, as the map does).
        return Number.isFinite(v) ? v : null;
      case 'undefined':
        return null;
      default:
        if (v === null) return null;
    }
  }
  return primaryKeyJSON(st.primaryKey, row);
}

/**
 * Freezes a JSON value from a parsed frame (held by nothing else) all the way down, and
 * says whether it is plain JSON: plain objects and arrays, strings, booleans, null and
 * finite numbers.
 */
function freezeJSON(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  Object.freeze(v);
  const proto: unknown = Object.getPrototypeOf(v);
  let ok = Array.isArray(v) ? proto === Array.prototype : proto === Object.prototype;
  for (const k in v) {
    if (!freezeJSON((v as Record<string, unknown>)[k])) ok = false;
  }
  return ok;
}

class TableRows implements ServerRows {
  readonly #st: TableState;

  constructor(st: TableState) {
    this.#st = st;
  }

  get size(): number {
    return this.#st.size;
  }

  get(key: string): Row | undefined {
    const st = this.#st;
    if (!key.startsWith(st.keyPrefix)) return undefined;
    const pkJSON = key.slice(st.keyPrefix.length);
    let mapKey: MapKey = pkJSON;
    if (st.pkCol !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(pkJSON);
      } catch {
        return undefined;
      }
      if (!Array.isArray(parsed) || parsed.length !== 1) return undefined;
      const id: Row = {[st.pkCol]: parsed[0] as Value};
      // Only the key `keyOf` writes names the row (not `[1.0]` for `[1]`).
      if (primaryKeyJSON(st.primaryKey, id) !== pkJSON) return undefined;
      mapKey = mapKeyOf(st, id);
    }
    return st.buckets[bucketIndex(fnv(st.prefixHash, pkJSON))]?.get(mapKey);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  *entries(): IterableIterator<[string, Row]> {
    const st = this.#st;
    for (const b of st.buckets) {
      if (b)
        for (const row of b.values())
          yield [st.keyPrefix + primaryKeyJSON(st.primaryKey, row), row];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<Row> {
    for (const b of this.#st.buckets) if (b) yield* b.values();
  }
}

export class LocalState {
  readonly batcher = new Batcher();
  readonly sources = new Map<string, MemorySource>();
  /** The server's rows (what pokes said), per client table, by row key. */
  readonly serverRows = new Map<string, ServerRows>();
  readonly primaryKeys = new Map<string, readonly string[]>();
  readonly #tables = new Map<string, TableState>();
  readonly #byServerName = new Map<string, TableNames>();
  /** Buckets changed since the last `#bucketOps`, as [table, bucket]. */
  #touched: [TableState, number][] = [];
  version: string | null = null;
  gotQueries = new Set<string>();
  lastMutationIDs: Record<string, number> = {};
  clientGroupID: string | undefined;

  constructor(schema: Schema) {
    for (const [name, t] of Object.entries(schema.tables)) {
      const src = new MemorySource(name, t.primaryKey, [], {batcher: this.batcher});
      const keyPrefix = `${ROW_PREFIX}${name}/`;
      const st: TableState = {
        table: name,
        primaryKey: t.primaryKey,
        pkCol: t.primaryKey.length === 1 ? t.primaryKey[0] : undefined,
        src,
        keyPrefix,
        prefixHash: fnv(FNV_OFFSET, keyPrefix),
        buckets: new Array<Map<MapKey, Row> | undefined>(BUCKETS).fill(undefined),
        touched: new Uint8Array(BUCKETS),
        foreign: new Uint8Array(BUCKETS),
        bucketKeys: new Array<string | undefined>(BUCKETS).fill(undefined),
        size: 0,
      };
      this.sources.set(name, src);
      this.serverRows.set(name, new TableRows(st));
      this.primaryKeys.set(name, t.primaryKey);
      this.#tables.set(name, st);
      const columns: [string, string][] = [];
      for (const [col, spec] of Object.entries(t.columns))
        columns.push([spec.serverName ?? col, col]);
      this.#byServerName.set(t.serverName ?? name, {
        state: st,
        columns,
        sameNames: columns.every(([server, client]) => server === client),
      });
    }
  }

  /**
   * Loads rows and metadata from the store into memory (views update once at the end).
   * Returns the writes that move rows stored one per key into buckets (empty when none).
   */
  async load(store: Store): Promise<KVOp[]> {
    const migrate: KVOp[] = [];
    const read = await store.read();
    try {
      // Asked together: gets issued in one tick share one IndexedDB transaction.
      const [version, got, lmids, group] = await Promise.all([
        read.get(META_VERSION),
        read.get(META_GOT),
        read.get(META_LMIDS),
        read.get(META_CLIENT_GROUP),
      ]);
      this.version = (version as string | null | undefined) ?? null;
      this.gotQueries = new Set((got as string[] | undefined) ?? []);
      this.lastMutationIDs = {...(lmids as Record<string, number> | undefined)};
      this.clientGroupID = group as string | undefined;
      if (!canScan(read)) return migrate;
      this.batcher.begin();
      try {
        const loaded = new Map<TableState, Row[]>();
        for await (const [key, value] of read.scan(BUCKET_PREFIX)) {
          const st = this.#tables.get(key.slice(BUCKET_PREFIX.length, key.lastIndexOf('/')));
          if (!st) continue;
          if (Array.isArray(value)) {
            for (const row of value as readonly ReadonlyJSONValue[]) {
              if (isObject(row)) this.#loadRow(st, row as Row, false, loaded);
            }
          } else if (isObject(value)) {
            for (const row of Object.values(value)) {
              if (isObject(row)) this.#loadRow(st, row as Row, false, loaded);
            }
          }
        }
        for await (const [key, value] of read.scan(ROW_PREFIX)) {
          const table = key.slice(ROW_PREFIX.length, key.indexOf('/', ROW_PREFIX.length));
          migrate.push({key, value: undefined});
          const st = this.#tables.get(table);
          if (st && isObject(value)) this.#loadRow(st, value as Row, true, loaded);
        }
        // Added in key order: buckets come in hash order, and a view ordered by the key
        // (the default) inserts into the middle of its sorted array for each out-of-order
        // row, quadratic in the table size (100k rows took seconds).
        for (const [st, rows] of loaded) {
          const compare = st.src.primaryIndex.compare;
          rows.sort(compare);
          for (const row of rows) st.src.add(row);
        }
        this.#bucketOps(migrate);
      } finally {
        this.batcher.end();
      }
    } finally {
      read.release();
    }
    return migrate;
  }

  /** Puts a row read from the store in its bucket and in `loaded`, to add to the source. */
  #loadRow(st: TableState, row: Row, touch: boolean, loaded: Map<TableState, Row[]>): void {
    const b = this.#bucket(st, rowHash(st, row), touch, true);
    const mapKey = mapKeyOf(st, row);
    // A row key is in one place only (buckets are read first and win); checking the map is
    // much cheaper than asking the source's B-tree.
    if (b.has(mapKey)) return;
    b.set(mapKey, row);
    st.size++;
    let rows = loaded.get(st);
    if (!rows) loaded.set(st, (rows = []));
    rows.push(row);
  }

  /**
   * The bucket of a row key's hash, created if missing; `touch` marks it to be written,
   * `foreign` that a row not built from a poke goes into it.
   */
  #bucket(st: TableState, hash: number, touch: boolean, foreign: boolean): Map<MapKey, Row> {
    const i = bucketIndex(hash);
    let b = st.buckets[i];
    if (!b) st.buckets[i] = b = new Map();
    if (foreign) st.foreign[i] = 1;
    if (touch && st.touched[i] === 0) {
      st.touched[i] = 1;
      this.#touched.push([st, i]);
    }
    return b;
  }

  /** The writes that store the current content of each touched bucket. */
  #bucketOps(ops: KVOp[]): void {
    for (const [st, i] of this.#touched) {
      st.touched[i] = 0;
      const key = (st.bucketKeys[i] ??=
        `${BUCKET_PREFIX}${st.table}/${i.toString(16).padStart(2, '0')}`);
      const b = st.buckets[i];
      if (!b || b.size === 0) {
        st.buckets[i] = undefined;
        st.foreign[i] = 0;
        ops.push({key, value: undefined});
        continue;
      }
      // Frozen, with frozen rows: the memory store keeps it without copying.
      const value = Object.freeze([...b.values()]);
      ops.push({key, value: st.foreign[i] ? value : vouchFrozenJSON(value)});
    }
    this.#touched = [];
  }

  /** The store key of a row of a client table. */
  keyOf(table: string, row: Row): string {
    return `${ROW_PREFIX}${table}/${primaryKeyJSON(this.primaryKeys.get(table) ?? [], row)}`;
  }

  /** Sets what queries see for one row (optimistic writes and rebases); undefined deletes. */
  setVisible(table: string, row: Row | undefined, id: Row): void {
    const src = this.sources.get(table);
    if (!src) throw new TypeError(`Unknown table ${table}`);
    const existing = src.get(id);
    if (row === undefined) {
      if (existing) src.remove(existing);
    } else if (existing) {
      if (existing !== row) src.edit(existing, row);
    } else {
      src.add(row);
    }
  }

  /** The row queries currently see with the primary key of `id`. */
  visible(table: string, id: Row): Row | undefined {
    return this.sources.get(table)?.get(id);
  }

  /**
   * Converts and freezes the rows of a poke part ahead of its poke (which applies them):
   * that work then overlaps with the server still sending the rest.
   */
  prepareRows(rows: readonly RowPatchOp[]): PreparedRowOp[] {
    const out: PreparedRowOp[] = [];
    for (let i = 0; i < rows.length; i++) {
      const op = rows[i]!;
      if (op.op === 'clear') {
        out.push(CLEAR);
        continue;
      }
      const names = this.#byServerName.get(op.table);
      if (!names) continue; // a table this client's schema does not know
      if (op.op === 'put') {
        const row = toClientRow(names, op.value);
        out.push({op: 'put', names, row, plain: freezeJSON(row)});
      } else if (op.op === 'puts') {
        out.push({op: 'puts', names, rows: rowsFromValues(names, op.columns, op.values)});
      } else {
        const id = toClientRow(names, op.id);
        freezeJSON(id);
        out.push({op: 'del', names, id});
      }
    }
    return out;
  }

  /**
   * Applies a poke to memory in one batch (views notify once) and returns the store
   * writes that make it durable. `parts`: the rows of the poke's parts (prepareRows), which
   * come before the poke's own rows.
   */
  applyPoke(poke: PokeBody, parts: readonly (readonly PreparedRowOp[])[] = []): KVOp[] {
    const ops: KVOp[] = [];
    this.batcher.begin();
    try {
      for (const part of parts) {
        for (let i = 0; i < part.length; i++) {
          const p = part[i]!;
          if (p.op === 'clear') this.#clear();
          else if (p.op === 'put') this.#put(p.names.state, p.row, p.plain);
          else if (p.op === 'puts') {
            const st = p.names.state;
            for (const row of p.rows) this.#put(st, row, true);
          } else this.#del(p.names.state, p.id);
        }
      }
      const rows = poke.rows;
      for (let i = 0; i < rows.length; i++) this.#applyRow(rows[i]!);
      this.#bucketOps(ops);
    } finally {
      for (const g of poke.gotQueries) {
        if (g.op === 'put') this.gotQueries.add(g.hash);
        else if (g.op === 'del') this.gotQueries.delete(g.hash);
        else this.gotQueries.clear();
      }
      for (const [c, id] of Object.entries(poke.lastMutationIDChanges)) {
        this.lastMutationIDs[c] = id;
      }
      this.version = poke.version;
      this.batcher.end();
    }
    ops.push({key: META_VERSION, value: this.version});
    ops.push({key: META_GOT, value: [...this.gotQueries]});
    // A copy: the next poke changes this object, maybe before this write has run.
    ops.push({key: META_LMIDS, value: {...this.lastMutationIDs}});
    return ops;
  }

  /**
   * Forgets everything the server sent (rows, version, complete queries), as when the
   * server no longer knows this client group; the last mutation ids stay (the server
   * sends them again). Returns the store writes.
   */
  resetSynced(): KVOp[] {
    const ops: KVOp[] = [];
    this.batcher.begin();
    try {
      this.#clear();
      this.#bucketOps(ops);
    } finally {
      this.gotQueries.clear();
      this.version = null;
      this.batcher.end();
    }
    ops.push({key: META_VERSION, value: undefined});
    ops.push({key: META_GOT, value: []});
    return ops;
  }

  #applyRow(op: RowPatchOp): void {
    if (op.op === 'clear') {
      this.#clear();
      return;
    }
    const names = this.#byServerName.get(op.table);
    if (!names) return; // a table this client's schema does not know
    if (op.op === 'put') {
      const row = toClientRow(names, op.value);
      this.#put(names.state, row, freezeJSON(row));
    } else if (op.op === 'puts') {
      const st = names.state;
      for (const row of rowsFromValues(names, op.columns, op.values)) this.#put(st, row, true);
    } else {
      const id = toClientRow(names, op.id);
      freezeJSON(id);
      this.#del(names.state, id);
    }
  }

  /** Puts a frozen row; `plain`: it is plain JSON (see freezeJSON). */
  #put(st: TableState, row: Row, plain: boolean): void {
    const src = st.src;
    const existing = src.get(row);
    if (existing) src.edit(existing, row);
    else src.add(row);
    const b = this.#bucket(st, rowHash(st, row), true, !plain);
    const before = b.size;
    b.set(mapKeyOf(st, row), row);
    st.size += b.size - before;
  }

  #del(st: TableState, id: Row): void {
    const existing = st.src.get(id);
    if (existing) st.src.remove(existing);
    if (this.#bucket(st, rowHash(st, id), true, false).delete(mapKeyOf(st, id))) st.size--;
  }

  #clear(): void {
    for (const st of this.#tables.values()) {
      for (let i = 0; i < BUCKETS; i++) {
        const b = st.buckets[i];
        if (!b) continue;
        for (const row of b.values()) {
          const existing = st.src.get(row);
          if (existing) st.src.remove(existing);
        }
        st.buckets[i] = undefined;
        st.foreign[i] = 0;
        if (st.touched[i] === 0) {
          st.touched[i] = 1;
          this.#touched.push([st, i]);
        }
      }
      st.size = 0;
    }
  }
}

/**
 * Converts a server-named row to the client's names, dropping unknown columns. A value that
 * already is exactly that row (same names, same columns in the same order, none undefined:
 * the usual case) is used as it is; it comes from a parsed frame that nothing else holds.
 * The caller freezes the row.
 */
function toClientRow(names: TableNames, value: Readonly<Record<string, ReadonlyJSONValue>>): Row {
  const columns = names.columns;
  if (names.sameNames && hasExactly(value, columns)) return value as Row;
  const row: Record<string, Value> = {};
  for (let i = 0; i < columns.length; i++) {
    const [serverCol, clientCol] = columns[i]!;
    const v = value[serverCol];
    row[clientCol] = v === undefined ? null : (v as Value);
  }
  return row;
}

/**
 * The rows of a `puts` op in the client's names and column order (missing columns null,
 * others dropped), frozen. The values come from a parsed frame that nothing else holds, so
 * the rows are plain JSON (see freezeJSON).
 */
function rowsFromValues(
  names: TableNames,
  columns: readonly string[],
  values: readonly (readonly ReadonlyJSONValue[])[],
): Row[] {
  const cols = names.columns;
  const at = cols.map(([server]) => columns.indexOf(server));
  const clientNames = cols.map(([, client]) => client);
  // An assignment to `__proto__` would set the prototype: define such a column instead.
  const define = clientNames.includes('__proto__');
  const out = new Array<Row>(values.length);
  for (let r = 0; r < values.length; r++) {
    const vs = values[r] as readonly ReadonlyJSONValue[];
    const row: Record<string, Value> = {};
    for (let i = 0; i < at.length; i++) {
      const k = at[i]!;
      const v = (k < 0 ? null : (vs[k] ?? null)) as Value;
      if (define) {
        Object.defineProperty(row, clientNames[i]!, {value: v, enumerable: true, writable: true});
      } else row[clientNames[i]!] = v;
    }
    freezeJSON(row);
    out[r] = row;
  }
  return out;
}

/** Whether `value` is a plain object whose keys are `columns`, in order, none undefined. */
function hasExactly(
  value: Readonly<Record<string, ReadonlyJSONValue>>,
  columns: readonly (readonly [string, string])[],
): boolean {
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  let i = 0;
  for (const k in value) {
    if (i === columns.length || k !== columns[i]![0] || value[k] === undefined) return false;
    i++;
  }
  return i === columns.length;
}

function isObject(v: unknown): v is Readonly<Record<string, ReadonlyJSONValue>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
