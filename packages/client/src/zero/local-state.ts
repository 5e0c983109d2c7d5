// The client's copy of the server's rows: one in-memory MemorySource per table (what
// queries run on) kept in step with the local store (what survives a reload).
import type {PokeBody, RowPatchOp} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '@zync/zql';
import type {Row, Value} from '@zync/zql/ivm';
import {Batcher, MemorySource} from '@zync/zql/ivm';
import type {Store} from '../kv/store.ts';
import {canScan} from '../kv/store.ts';

/** Rows as stored before buckets (one key per row); read and migrated on load. */
export const ROW_PREFIX = 'r/';
/**
 * Rows are stored in buckets, `b/<table>/<hh>`, each an object of row key → row. One
 * IndexedDB record per row made a 10k-row poke cost ~10k puts (~0.5 s in Chromium);
 * buckets make it a few hundred. A row's bucket is a hash of its key, so a small change
 * rewrites one small bucket.
 */
export const BUCKET_PREFIX = 'b/';
const BUCKETS = 256;
export const META_VERSION = 'm/version';
export const META_GOT = 'm/gotQueries';
export const META_CLIENT_GROUP = 'm/clientGroupID';
export const META_LMIDS = 'm/lmids';

type TableNames = {
  /** client table name */
  readonly table: string;
  readonly primaryKey: readonly string[];
  /** server column → client column */
  readonly columns: ReadonlyMap<string, string>;
};

export type KVOp = {readonly key: string; readonly value: ReadonlyJSONValue | undefined};

function rowKey(table: string, primaryKey: readonly string[], row: Row): string {
  return `${ROW_PREFIX}${table}/${JSON.stringify(primaryKey.map(k => row[k] ?? null))}`;
}

function bucketKey(table: string, rowKey: string): string {
  // FNV-1a, 32 bits.
  let h = 0x811c9dc5;
  for (let i = 0; i < rowKey.length; i++) {
    h ^= rowKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${BUCKET_PREFIX}${table}/${((h >>> 0) % BUCKETS).toString(16).padStart(2, '0')}`;
}

export class LocalState {
  readonly batcher = new Batcher();
  readonly sources = new Map<string, MemorySource>();
  /** The server's rows (what pokes said), per client table, by row key. */
  readonly serverRows = new Map<string, Map<string, Row>>();
  readonly primaryKeys = new Map<string, readonly string[]>();
  /** The server's rows by stored bucket key, then row key (what is persisted). */
  readonly #buckets = new Map<string, Map<string, Row>>();
  readonly #byServerName = new Map<string, TableNames>();
  version: string | null = null;
  gotQueries = new Set<string>();
  lastMutationIDs: Record<string, number> = {};
  clientGroupID: string | undefined;

  constructor(schema: Schema) {
    for (const [name, t] of Object.entries(schema.tables)) {
      this.sources.set(name, new MemorySource(name, t.primaryKey, [], {batcher: this.batcher}));
      this.serverRows.set(name, new Map());
      this.primaryKeys.set(name, t.primaryKey);
      const columns = new Map<string, string>();
      for (const [col, spec] of Object.entries(t.columns)) columns.set(spec.serverName ?? col, col);
      this.#byServerName.set(t.serverName ?? name, {
        table: name,
        primaryKey: t.primaryKey,
        columns,
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
        for await (const [key, value] of read.scan(BUCKET_PREFIX)) {
          const table = key.slice(BUCKET_PREFIX.length, key.lastIndexOf('/'));
          if (!isObject(value)) continue;
          for (const [rowKey, row] of Object.entries(value)) {
            if (isObject(row)) this.#loadRow(table, rowKey, row as Row);
          }
        }
        const touched = new Set<string>();
        for await (const [key, value] of read.scan(ROW_PREFIX)) {
          const table = key.slice(ROW_PREFIX.length, key.indexOf('/', ROW_PREFIX.length));
          migrate.push({key, value: undefined});
          if (isObject(value) && this.#loadRow(table, key, value as Row)) {
            touched.add(bucketKey(table, key));
          }
        }
        this.#bucketOps(touched, migrate);
      } finally {
        this.batcher.end();
      }
    } finally {
      read.release();
    }
    return migrate;
  }

  #loadRow(table: string, rowKey: string, row: Row): boolean {
    const src = this.sources.get(table);
    const rows = this.serverRows.get(table);
    if (!src || !rows) return false;
    // A row key is in one place only (buckets are read first and win); checking the map is
    // much cheaper than asking the source's B-tree.
    if (rows.has(rowKey)) return true;
    rows.set(rowKey, row);
    this.#bucketOf(table, rowKey).set(rowKey, row);
    src.add(row);
    return true;
  }

  /** The bucket of a row key, created if missing; `touched` records its key. */
  #bucketOf(table: string, rowKey: string, touched?: Set<string>): Map<string, Row> {
    const k = bucketKey(table, rowKey);
    touched?.add(k);
    let b = this.#buckets.get(k);
    if (!b) this.#buckets.set(k, (b = new Map<string, Row>()));
    return b;
  }

  /** The writes that store the current content of each touched bucket. */
  #bucketOps(touched: ReadonlySet<string>, ops: KVOp[]): void {
    for (const k of touched) {
      const b = this.#buckets.get(k);
      if (!b || b.size === 0) {
        this.#buckets.delete(k);
        ops.push({key: k, value: undefined});
      } else {
        ops.push({key: k, value: Object.fromEntries(b)});
      }
    }
  }

  /** The store key of a row of a client table. */
  keyOf(table: string, row: Row): string {
    return rowKey(table, this.primaryKeys.get(table) ?? [], row);
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

  /** Converts a server-named row to the client's names, dropping unknown columns. */
  #toClient(names: TableNames, value: Readonly<Record<string, ReadonlyJSONValue>>): Row {
    const row: Record<string, Value> = {};
    for (const [serverCol, clientCol] of names.columns) {
      const v = value[serverCol];
      row[clientCol] = v === undefined ? null : (v as Value);
    }
    return row;
  }

  /**
   * Applies a poke to memory in one batch (views notify once) and returns the store
   * writes that make it durable.
   */
  applyPoke(poke: PokeBody): KVOp[] {
    const ops: KVOp[] = [];
    const touched = new Set<string>();
    this.batcher.begin();
    try {
      for (const op of poke.rows) this.#applyRow(op, touched);
      this.#bucketOps(touched, ops);
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
    ops.push({key: META_LMIDS, value: this.lastMutationIDs});
    return ops;
  }

  #applyRow(op: RowPatchOp, touched: Set<string>): void {
    if (op.op === 'clear') {
      for (const [table, rows] of this.serverRows) {
        const src = this.sources.get(table);
        for (const row of rows.values()) {
          const existing = src?.get(row);
          if (existing) src?.remove(existing);
        }
        rows.clear();
      }
      for (const [k, b] of this.#buckets) {
        b.clear();
        touched.add(k);
      }
      return;
    }
    const names = this.#byServerName.get(op.table);
    if (!names) return; // a table this client's schema does not know
    const src = this.sources.get(names.table);
    if (!src) return;
    if (op.op === 'put') {
      const row = this.#toClient(names, op.value);
      const existing = src.get(row);
      if (existing) src.edit(existing, row);
      else src.add(row);
      const key = rowKey(names.table, names.primaryKey, row);
      this.serverRows.get(names.table)?.set(key, row);
      this.#bucketOf(names.table, key, touched).set(key, row);
    } else {
      const id = this.#toClient(names, op.id);
      const existing = src.get(id);
      if (existing) src.remove(existing);
      const key = rowKey(names.table, names.primaryKey, id);
      this.serverRows.get(names.table)?.delete(key);
      this.#bucketOf(names.table, key, touched).delete(key);
    }
  }
}

function isObject(v: unknown): v is Readonly<Record<string, ReadonlyJSONValue>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
