// The client's copy of the server's rows: one in-memory MemorySource per table (what
// queries run on) kept in step with the local store (what survives a reload).
import type {PokeBody, RowPatchOp} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '@zync/zql';
import type {Row} from '@zync/zql/ivm';
import {Batcher, MemorySource} from '@zync/zql/ivm';
import {vouchFrozenJSON} from '../kv/frozen-json.ts';
import type {Store} from '../kv/store.ts';
import {canScan} from '../kv/store.ts';
import type {MapKey, ServerRows, TableState} from './row-buckets.ts';
import {
  BUCKETS,
  FNV_OFFSET,
  TableRows,
  bucketIndex,
  fnv,
  mapKeyOf,
  primaryKeyJSON,
  rowHash,
} from './row-buckets.ts';
import type {PreparedRowOp, TableNames} from './prepared-rows.ts';
import {CLEAR, freezeJSON, rowsFromValues, toClientRow} from './prepared-rows.ts';

export type {ServerRows} from './row-buckets.ts';
export type {PreparedRowOp} from './prepared-rows.ts';

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
export const META_VERSION = 'm/version';
export const META_GOT = 'm/gotQueries';
export const META_CLIENT_GROUP = 'm/clientGroupID';
export const META_LMIDS = 'm/lmids';

export type KVOp = {readonly key: string; readonly value: ReadonlyJSONValue | undefined};

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
          else if (p.op === 'puts') this.#putRows(p.names.state, p.rows);
          else this.#del(p.names.state, p.id);
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

  /**
   * Puts frozen plain rows (a `puts` op): what #put does for each, as two tight loops (the
   * source and its views, then the buckets), which a new process runs much sooner as
   * optimized code than one loop calling #put.
   */
  #putRows(st: TableState, rows: readonly Row[]): void {
    const src = st.src;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const existing = src.get(row);
      if (existing) src.edit(existing, row);
      else src.add(row);
    }
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const b = this.#bucket(st, rowHash(st, row), true, false);
      const before = b.size;
      b.set(mapKeyOf(st, row), row);
      st.size += b.size - before;
    }
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

function isObject(v: unknown): v is Readonly<Record<string, ReadonlyJSONValue>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
