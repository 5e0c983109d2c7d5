// The SQLite backend shared by the better-sqlite3 (Node) and expo-sqlite (React Native)
// providers. It talks to SQLite through `SqlConnection`, a synchronous three-method
// adapter, so it imports no driver and is safe in any bundle.
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Backend, Changes, Entry} from './backend.ts';
import {SharedDbPool} from './snapshot-store.ts';
import type {StoreProvider} from './store.ts';
import {prefixEnd} from './store.ts';

export type SqlParam = string | number | null;

/** A single synchronous SQLite connection. */
export interface SqlConnection {
  exec(sql: string): void;
  run(sql: string, params: readonly SqlParam[]): void;
  all(sql: string, params: readonly SqlParam[]): readonly Record<string, unknown>[];
  close(): void;
}

export type SQLiteStoreOptions = {
  /**
   * Default `'DELETE'`. WAL is off by default because expo-sqlite has been seen to hang on
   * COMMIT in WAL mode; on Node it is safe to turn on for faster commits.
   */
  journalMode?: 'DELETE' | 'WAL';
  /** Default `'NORMAL'`. */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long to wait for a lock held by another connection. Default 1000 ms. */
  busyTimeoutMs?: number;
};

/** The file name for a store name: every character outside `[A-Za-z0-9._-]` escaped. */
export function safeFilename(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*~]/g, c => `%${c.charCodeAt(0).toString(16)}`);
}

export function sqliteProviderOver(
  open: (name: string) => SqlConnection,
  destroy: (name: string) => void | Promise<void>,
  options: SQLiteStoreOptions = {},
): StoreProvider {
  const pool = new SharedDbPool(name => new SqliteBackend(open(name), options));
  return {
    create: name => pool.create(name),
    drop: async name => {
      await pool.closeAll(name);
      await destroy(name);
    },
  };
}

class SqliteBackend implements Backend {
  readonly #conn: SqlConnection;
  #closed = false;

  constructor(conn: SqlConnection, options: SQLiteStoreOptions) {
    this.#conn = conn;
    const journal = options.journalMode ?? 'DELETE';
    const sync = options.synchronous ?? 'NORMAL';
    const busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 1000));
    try {
      conn.exec(
        `PRAGMA busy_timeout = ${busy};` +
          `PRAGMA journal_mode = ${journal === 'WAL' ? 'WAL' : 'DELETE'};` +
          `PRAGMA synchronous = ${sync === 'FULL' ? 'FULL' : 'NORMAL'};` +
          'CREATE TABLE IF NOT EXISTS entry (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;',
      );
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  get(key: string): ReadonlyJSONValue | undefined {
    const row = this.#conn.all('SELECT value FROM entry WHERE key = ?', [key])[0];
    return row === undefined
      ? undefined
      : (JSON.parse(row['value'] as string) as ReadonlyJSONValue);
  }

  scanBatch(prefix: string, after: string | undefined, limit: number): Entry[] {
    const end = prefixEnd(prefix);
    const lowerOp = after === undefined ? '>=' : '>';
    const lower = after ?? prefix;
    const rows =
      end === undefined
        ? this.#conn.all(
            `SELECT key, value FROM entry WHERE key ${lowerOp} ? ORDER BY key LIMIT ?`,
            [lower, limit],
          )
        : this.#conn.all(
            `SELECT key, value FROM entry WHERE key ${lowerOp} ? AND key < ? ORDER BY key LIMIT ?`,
            [lower, end, limit],
          );
    return rows.map(r => [
      r['key'] as string,
      JSON.parse(r['value'] as string) as ReadonlyJSONValue,
    ]);
  }

  commit(
    changes: Changes,
    captureOld: ((key: string, old: ReadonlyJSONValue | undefined) => void) | undefined,
  ): void {
    // Serialise before BEGIN: a value that cannot be serialised fails the commit cleanly.
    const rows: [string, string | undefined][] = [];
    for (const [k, v] of changes) rows.push([k, v === undefined ? undefined : toJSON(v)]);
    const c = this.#conn;
    c.exec('BEGIN IMMEDIATE');
    try {
      for (const [k, json] of rows) {
        if (captureOld) captureOld(k, this.get(k));
        if (json === undefined) c.run('DELETE FROM entry WHERE key = ?', [k]);
        else c.run('INSERT OR REPLACE INTO entry (key, value) VALUES (?, ?)', [k, json]);
      }
      c.exec('COMMIT');
    } catch (e) {
      try {
        c.exec('ROLLBACK');
      } catch {
        // The failed statement may already have rolled back.
      }
      throw e;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }
}

function toJSON(v: ReadonlyJSONValue): string {
  const s = JSON.stringify(v) as string | undefined;
  if (s === undefined) throw new TypeError('put: value is not JSON');
  return s;
}
