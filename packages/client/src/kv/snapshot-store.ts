// Transactions over a `Backend`, shared by every built-in store.
//
// Writes are buffered in memory and applied by one backend commit (one IndexedDB
// transaction, one SQLite transaction), because per-key transactions are what makes
// IndexedDB slow. One writer at a time per database in this JS context (a FIFO lock).
// Reads never block writes: a read keeps the before-image of every key that a later commit
// changes ("overlay"), and answers from it, so it sees the database as of its start.
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Backend, Changes, Entry} from './backend.ts';
import {Lock} from './lock.ts';
import type {Read, Store, Write} from './store.ts';
import {compareKeys, StoreClosedError} from './store.ts';

const SCAN_BATCH = 500;

/** One open database in this JS context, shared by every `Store` of that name. */
class SharedDb {
  readonly backend: Promise<Backend>;
  readonly lock = new Lock();
  readonly reads = new Set<ReadTx>();
  readonly stores = new Set<SnapshotStore>();
  commitInFlight: Promise<void> | undefined;
  closing: Promise<void> | undefined;

  constructor(backend: Promise<Backend>) {
    this.backend = backend;
    // An open that fails surfaces on first use, not as an unhandled rejection.
    backend.catch(() => {});
  }
}

/**
 * The databases open in one context for one kind of store, by name. Stores with the same
 * name share one connection, one write lock and one snapshot bookkeeping.
 */
export class SharedDbPool {
  readonly #dbs = new Map<string, SharedDb>();
  readonly #open: (name: string) => MaybeAsync<Backend>;

  constructor(open: (name: string) => MaybeAsync<Backend>) {
    this.#open = open;
  }

  create(name: string): Store {
    let db = this.#dbs.get(name);
    if (!db || db.closing) {
      // Reopening right after a close waits for the old connection to be gone.
      const previous = db?.closing;
      db = new SharedDb(Promise.resolve(previous).then(() => this.#open(name)));
      this.#dbs.set(name, db);
    }
    const store = new SnapshotStore(db, () => this.#storeClosed(name, db));
    db.stores.add(store);
    return store;
  }

  has(name: string): boolean {
    return this.#dbs.has(name);
  }

  /**
   * Closes every store of `name` in this context (waiting for an in-flight commit) and
   * its connection. Used before a drop, and when the engine closes the connection.
   */
  async closeAll(name: string): Promise<void> {
    const db = this.#dbs.get(name);
    if (!db) return;
    await Promise.all([...db.stores].map(s => s.close()));
    await db.closing;
  }

  #storeClosed(name: string, db: SharedDb): Promise<void> {
    if (db.stores.size > 0) return Promise.resolve();
    if (this.#dbs.get(name) === db) this.#dbs.delete(name);
    db.closing ??= (async () => {
      await db.commitInFlight?.catch(() => {});
      const backend = await db.backend.catch(() => undefined);
      await backend?.close();
    })();
    return db.closing;
  }
}

type MaybeAsync<T> = T | Promise<T>;

export class SnapshotStore implements Store {
  readonly #db: SharedDb;
  readonly #onClosed: () => Promise<void>;
  readonly #txs = new Set<ReadTx>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(db: SharedDb, onClosed: () => Promise<void>) {
    this.#db = db;
    this.#onClosed = onClosed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async read(): Promise<Read> {
    this.#check();
    // A read that starts during a commit sees it whole.
    await this.#db.commitInFlight?.catch(() => {});
    const backend = await this.#db.backend;
    this.#check();
    const tx = new ReadTx(backend, this.#db, t => this.#txs.delete(t));
    this.#txs.add(tx);
    this.#db.reads.add(tx);
    return tx;
  }

  async write(): Promise<Write> {
    this.#check();
    const backend = await this.#db.backend;
    const release = await this.#db.lock.acquire();
    if (this.#closed) {
      release();
      throw new StoreClosedError('store-closed');
    }
    const tx = new WriteTx(backend, this.#db, release, t => this.#txs.delete(t));
    this.#txs.add(tx);
    return tx;
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = (async () => {
      await this.#db.commitInFlight?.catch(() => {});
      for (const tx of this.#txs) tx.release();
      this.#db.stores.delete(this);
      await this.#onClosed();
    })();
    return this.#closing;
  }

  #check(): void {
    if (this.#closed) throw new StoreClosedError('store-closed');
  }
}

class ReadTx implements Read {
  protected readonly backend: Backend;
  protected readonly db: SharedDb;
  readonly #onDone: (tx: ReadTx) => void;
  /** Before-images of keys changed by commits since this read began. */
  readonly overlay = new Map<string, ReadonlyJSONValue | undefined>();
  #closed = false;

  constructor(backend: Backend, db: SharedDb, onDone: (tx: ReadTx) => void) {
    this.backend = backend;
    this.db = db;
    this.#onDone = onDone;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async get(key: string): Promise<ReadonlyJSONValue | undefined> {
    this.check();
    const value = await this.backend.get(key);
    // Checked after the backend answered: a commit that landed meanwhile has already put
    // this key's before-image here, and the before-image is what this snapshot holds.
    return this.overlay.has(key) ? this.overlay.get(key) : value;
  }

  scan(prefix: string): AsyncIterable<Entry> {
    return mergedScan(this.backend, prefix, this.overlay, () => this.check());
  }

  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.db.reads.delete(this);
    this.overlay.clear();
    this.#onDone(this);
  }

  protected check(): void {
    if (this.#closed) throw new StoreClosedError('transaction-closed');
  }
}

class WriteTx extends ReadTx implements Write {
  readonly #pending = new Map<string, ReadonlyJSONValue | undefined>();
  readonly #unlock: () => void;

  constructor(backend: Backend, db: SharedDb, unlock: () => void, onDone: (tx: ReadTx) => void) {
    super(backend, db, onDone);
    this.#unlock = unlock;
  }

  override async get(key: string): Promise<ReadonlyJSONValue | undefined> {
    this.check();
    if (this.#pending.has(key)) return this.#pending.get(key);
    // This write holds the lock, so no commit can change the backend under it.
    return this.backend.get(key);
  }

  override scan(prefix: string): AsyncIterable<Entry> {
    return mergedScan(this.backend, prefix, this.#pending, () => this.check());
  }

  put(key: string, value: ReadonlyJSONValue): Promise<void> {
    return attempt(() => {
      this.check();
      if (value === undefined) {
        throw new TypeError('put: value must be a JSON value, not undefined');
      }
      this.#pending.set(key, value);
    });
  }

  del(key: string): Promise<void> {
    return attempt(() => {
      this.check();
      this.#pending.set(key, undefined);
    });
  }

  async commit(): Promise<void> {
    this.check();
    const changes: Changes = this.#pending;
    const reads = this.db.reads;
    const capture =
      reads.size === 0
        ? undefined
        : (key: string, old: ReadonlyJSONValue | undefined) => {
            for (const r of reads) if (!r.overlay.has(key)) r.overlay.set(key, old);
          };
    try {
      if (changes.size > 0) {
        const p = Promise.resolve(this.backend.commit(changes, capture));
        this.db.commitInFlight = p;
        try {
          await p;
        } finally {
          if (this.db.commitInFlight === p) this.db.commitInFlight = undefined;
        }
      }
    } finally {
      this.release();
    }
  }

  override release(): void {
    if (this.closed) return;
    this.#pending.clear();
    super.release();
    this.#unlock();
  }
}

/**
 * Scans the backend in batches and lays `overlay` over it: a key in the overlay takes the
 * overlay's value (undefined: absent). The overlay is consulted after each batch arrives,
 * so it may keep changing while the scan runs.
 */
async function* mergedScan(
  backend: Backend,
  prefix: string,
  overlay: ReadonlyMap<string, ReadonlyJSONValue | undefined>,
  check: () => void,
): AsyncGenerator<Entry> {
  let after: string | undefined;
  for (;;) {
    check();
    const batch = await backend.scanBatch(prefix, after, SCAN_BATCH);
    check();
    const done = batch.length < SCAN_BATCH;
    const last = batch.length > 0 ? batch[batch.length - 1]![0] : undefined;
    const out: Entry[] = [];
    const seen = new Set<string>();
    for (const [k, v] of batch) {
      seen.add(k);
      if (!overlay.has(k)) out.push([k, v]);
      else {
        const o = overlay.get(k);
        if (o !== undefined) out.push([k, o]);
      }
    }
    let extra = false;
    for (const [k, v] of overlay) {
      if (v === undefined || seen.has(k) || !k.startsWith(prefix)) continue;
      if (after !== undefined && k <= after) continue;
      if (!done && last !== undefined && k > last) continue;
      out.push([k, v]);
      extra = true;
    }
    if (extra) out.sort((a, b) => compareKeys(a[0], b[0]));
    yield* out;
    if (done) return;
    after = last;
  }
}

/** Runs `f` and reports its outcome as a promise: misuse rejects rather than throws. */
function attempt(f: () => void): Promise<void> {
  try {
    f();
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
