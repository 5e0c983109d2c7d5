// The storage contract between the client and a key/value backend. The shapes of
// `Store`, `Read`, `Write` and `StoreProvider` match Zero 0.24's, so a provider written
// for Zero plugs in unchanged. `scan` is ours: an optional bulk read that every built-in
// store implements; see `scanPrefix` for the fallback when a custom store lacks it.
import type {ReadonlyJSONValue} from '@zync/shared';

export interface Read {
  has(key: string): Promise<boolean>;
  get(key: string): Promise<ReadonlyJSONValue | undefined>;
  /** Ends the transaction. Idempotent. */
  release(): void;
  closed: boolean;
  /**
   * Beyond: the entries whose key starts with `prefix`, in ascending key order (by UTF-16
   * code units), as seen by this read's snapshot. Optional so that Zero providers fit.
   */
  scan?(prefix: string): AsyncIterable<readonly [string, ReadonlyJSONValue]>;
}

export interface Write extends Read {
  put(key: string, value: ReadonlyJSONValue): Promise<void>;
  del(key: string): Promise<void>;
  /** Makes every put/del of this write visible at once, or none of them. */
  commit(): Promise<void>;
}

export interface Store {
  read(): Promise<Read>;
  write(): Promise<Write>;
  /** Waits for an in-flight commit, then closes. Idempotent. */
  close(): Promise<void>;
  closed: boolean;
}

export type CreateStore = (name: string) => Store;
export type DropStore = (name: string) => Promise<void>;

export type StoreProvider = {
  create: CreateStore;
  drop: DropStore;
};

/** A read that supports `scan`. */
export type ScanRead = Read & Required<Pick<Read, 'scan'>>;

export function canScan(read: Read): read is ScanRead {
  return typeof read.scan === 'function';
}

/** The error thrown when a closed store or finished transaction is used. */
export class StoreClosedError extends Error {
  readonly kind: 'store-closed' | 'transaction-closed';
  constructor(kind: 'store-closed' | 'transaction-closed', options?: ErrorOptions) {
    super(kind === 'store-closed' ? 'Store is closed' : 'Transaction is closed', options);
    this.name = 'StoreClosedError';
    this.kind = kind;
  }
}

/**
 * The smallest key greater than every key that starts with `prefix`, or undefined when no
 * such string exists (empty prefix or all U+FFFF).
 */
export function prefixEnd(prefix: string): string | undefined {
  let p = prefix;
  while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xffff) p = p.slice(0, -1);
  if (p.length === 0) return undefined;
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
