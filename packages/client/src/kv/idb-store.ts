// IndexedDB store: one database per name, one object store of key → value.
// Browser-safe: no Node imports. Falls back to memory, with one warning, where IndexedDB
// is missing or cannot be opened (e.g. some private modes).
import type {Logger, ReadonlyJSONValue} from '@zync/shared';
import type {Backend, Changes, Entry} from './backend.ts';
import type {MemDatabases} from './mem-store.ts';
import {memStoreProvider} from './mem-store.ts';
import {SharedDbPool} from './snapshot-store.ts';
import type {Read, Store, StoreProvider, Write} from './store.ts';
import {prefixEnd, StoreClosedError} from './store.ts';

const OBJECT_STORE = 'kv';
const VERSION = 1;

export type IDBStoreOptions = {
  /** Receives the fallback warning. Default: none (the warning is only passed to `onFallback`). */
  logger?: Logger;
  /** Called once per provider when it falls back to memory. */
  onFallback?: (reason: string) => void;
  /**
   * Called when the browser closes a connection under us: another context deletes or
   * upgrades the database (`versionchange`), or the engine closes it (`close`). Every
   * store of that name in this context is closed cleanly first. Create few providers with
   * this option (e.g. one per context): each one's listener lives as long as the factory.
   */
  onConnectionLost?: (name: string, reason: 'versionchange' | 'close') => void;
  /** Default: `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  /** Where the memory fallback keeps its data. Default: the context-wide namespace. */
  fallbackDatabases?: MemDatabases;
};

// One pool per IDBFactory, so stores of one name in this context share a connection.
type FactoryState = {
  pool: SharedDbPool;
  lostListeners: Set<(name: string, reason: 'versionchange' | 'close') => void>;
};
const factories = new WeakMap<IDBFactory, FactoryState>();

function factoryState(factory: IDBFactory): FactoryState {
  let state = factories.get(factory);
  if (!state) {
    const lostListeners = new Set<(name: string, reason: 'versionchange' | 'close') => void>();
    const pool: SharedDbPool = new SharedDbPool(name =>
      openBackend(factory, name, reason => {
        // Close every store of this name cleanly, then tell the owners.
        void pool.closeAll(name).then(() => {
          for (const l of lostListeners) l(name, reason);
        });
      }),
    );
    state = {pool, lostListeners};
    factories.set(factory, state);
  }
  return state;
}

export function idbStoreProvider(options: IDBStoreOptions = {}): StoreProvider {
  const g: {indexedDB?: IDBFactory | undefined} = globalThis;
  const factory = options.indexedDB ?? g.indexedDB;
  const fallback = memStoreProvider(
    options.fallbackDatabases ? {databases: options.fallbackDatabases} : {},
  );
  let warned = false;
  let failed = factory === undefined;
  const fallBack = (reason: string) => {
    failed = true;
    if (warned) return;
    warned = true;
    options.logger?.warn(
      'IndexedDB is not available; local data is kept in memory and lost on reload',
      {reason},
    );
    options.onFallback?.(reason);
  };
  if (!factory) {
    fallBack('indexedDB is not defined');
    return fallback;
  }
  const state = factoryState(factory);
  if (options.onConnectionLost) state.lostListeners.add(options.onConnectionLost);
  const idbPool = state.pool;
  return {
    create: name =>
      failed
        ? fallback.create(name)
        : new FallbackStore(idbPool.create(name), name, fallback, fallBack),
    drop: async name => {
      if (failed) return fallback.drop(name);
      await idbPool.closeAll(name);
      await deleteDatabase(factory, name);
    },
  };
}

/**
 * An IndexedDB store that turns into a memory store if the database cannot be opened.
 * The switch happens before any transaction succeeded, so no data is split between both.
 */
class FallbackStore implements Store {
  #inner: Store;
  #decided = false;
  readonly #name: string;
  readonly #fallback: StoreProvider;
  readonly #onFallback: (reason: string) => void;

  constructor(
    inner: Store,
    name: string,
    fallback: StoreProvider,
    onFallback: (reason: string) => void,
  ) {
    this.#inner = inner;
    this.#name = name;
    this.#fallback = fallback;
    this.#onFallback = onFallback;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  read(): Promise<Read> {
    return this.#try(s => s.read());
  }

  write(): Promise<Write> {
    return this.#try(s => s.write());
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #try<T>(f: (s: Store) => Promise<T>): Promise<T> {
    if (this.#decided) return f(this.#inner);
    try {
      const r = await f(this.#inner);
      this.#decided = true;
      return r;
    } catch (e) {
      if (this.#decided || !(e instanceof IDBOpenError)) throw e;
      this.#decided = true;
      this.#onFallback(e.message);
      await this.#inner.close().catch(() => {});
      this.#inner = this.#fallback.create(this.#name);
      return f(this.#inner);
    }
  }
}

class IDBOpenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IDBOpenError';
  }
}

function openBackend(
  factory: IDBFactory,
  name: string,
  onLost: (reason: 'versionchange' | 'close') => void,
): Promise<Backend> {
  return new Promise((resolve, reject) => {
    let req: IDBOpenDBRequest;
    try {
      req = factory.open(name, VERSION);
    } catch (e) {
      reject(new IDBOpenError(`indexedDB.open threw: ${errorName(e)}`, {cause: e}));
      return;
    }
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(OBJECT_STORE)) db.createObjectStore(OBJECT_STORE);
    };
    req.onerror = () =>
      reject(
        new IDBOpenError(`indexedDB.open failed: ${errorName(req.error)}`, {cause: req.error}),
      );
    req.onblocked = () => {
      // Another connection with an older version is open; the open continues once it closes.
    };
    req.onsuccess = () => {
      const db = req.result;
      const backend = new IDBBackend(db);
      db.onversionchange = () => {
        // Close at once so that the other context's delete or upgrade is not blocked.
        backend.close();
        onLost('versionchange');
      };
      db.onclose = () => {
        backend.markClosed();
        onLost('close');
      };
      resolve(backend);
    };
  });
}

class IDBBackend implements Backend {
  readonly #db: IDBDatabase;
  #closed = false;
  // Gets issued in the same tick share one readonly transaction.
  #batch: {keys: string[]; waiters: ((r: Result) => void)[]} | undefined;

  constructor(db: IDBDatabase) {
    this.#db = db;
  }

  get(key: string): Promise<ReadonlyJSONValue | undefined> {
    return new Promise<Result>(resolve => {
      if (!this.#batch) {
        const batch = {keys: [] as string[], waiters: [] as ((r: Result) => void)[]};
        this.#batch = batch;
        queueMicrotask(() => {
          this.#batch = undefined;
          this.#runGets(batch.keys, batch.waiters);
        });
      }
      this.#batch.keys.push(key);
      this.#batch.waiters.push(resolve);
    }).then(r => {
      if ('error' in r) throw r.error;
      return r.value;
    });
  }

  #runGets(keys: string[], waiters: ((r: Result) => void)[]): void {
    let tx: IDBTransaction;
    try {
      tx = this.#tx('readonly');
    } catch (e) {
      for (const w of waiters) w({error: e});
      return;
    }
    const os = tx.objectStore(OBJECT_STORE);
    keys.forEach((k, i) => {
      const req = os.get(k);
      req.onsuccess = () => waiters[i]!({value: req.result as ReadonlyJSONValue | undefined});
      req.onerror = () => waiters[i]!({error: req.error});
    });
  }

  scanBatch(prefix: string, after: string | undefined, limit: number): Promise<Entry[]> {
    return new Promise((resolve, reject) => {
      const end = prefixEnd(prefix);
      const lower = after ?? prefix;
      const lowerOpen = after !== undefined;
      const range =
        end === undefined
          ? lower === ''
            ? undefined
            : IDBKeyRange.lowerBound(lower, lowerOpen)
          : IDBKeyRange.bound(lower, end, lowerOpen, true);
      const tx = this.#tx('readonly');
      const os = tx.objectStore(OBJECT_STORE);
      const keysReq = os.getAllKeys(range, limit);
      const valuesReq = os.getAll(range, limit);
      tx.oncomplete = () => {
        const keys = keysReq.result as string[];
        const values = valuesReq.result as ReadonlyJSONValue[];
        resolve(keys.map((k, i) => [k, values[i]!] as const));
      };
      tx.onerror = () => reject(tx.error ?? keysReq.error ?? valuesReq.error ?? idbError());
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }

  commit(
    changes: Changes,
    captureOld: ((key: string, old: ReadonlyJSONValue | undefined) => void) | undefined,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.#tx('readwrite');
      const os = tx.objectStore(OBJECT_STORE);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? idbError());
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
      try {
        for (const [k, v] of changes) {
          if (captureOld) {
            // Requests in one transaction run in the order issued, so this get sees the
            // value before the put below; not waiting for it saves a round trip per key.
            const req = os.get(k);
            req.onsuccess = () => captureOld(k, req.result as ReadonlyJSONValue | undefined);
          }
          if (v === undefined) os.delete(k);
          else os.put(v, k);
        }
      } catch (e) {
        // DataCloneError and the like: nothing of this write lands.
        tx.abort();
        reject(e instanceof Error ? e : new TypeError('put: value cannot be stored'));
      }
    });
  }

  #tx(mode: IDBTransactionMode): IDBTransaction {
    if (this.#closed) throw new StoreClosedError('store-closed');
    return this.#db.transaction(OBJECT_STORE, mode, {durability: 'relaxed'});
  }

  markClosed(): void {
    this.#closed = true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

type Result = {value: ReadonlyJSONValue | undefined} | {error: unknown};

function deleteDatabase(factory: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = factory.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error ?? new Error('IndexedDB deleteDatabase failed'));
    // `blocked` is only informative: the delete proceeds once other contexts close,
    // which they do on `versionchange`.
  });
}

function errorName(e: unknown): string {
  return e instanceof Error || (typeof DOMException !== 'undefined' && e instanceof DOMException)
    ? e.name
    : 'unknown error';
}

function idbError(): Error {
  return new Error('IndexedDB request failed');
}
