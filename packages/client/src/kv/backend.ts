// What a storage engine must offer so that `SnapshotStore` can build transactions on it.
// Each built-in store (memory, IndexedDB, SQLite, expo-sqlite) is one of these.
import type {ReadonlyJSONValue} from '@zync/shared';

export type MaybePromise<T> = T | Promise<T>;

export type Entry = readonly [string, ReadonlyJSONValue];

/** Pending changes of a write: a value to put, or `undefined` to delete. */
export type Changes = ReadonlyMap<string, ReadonlyJSONValue | undefined>;

export interface Backend {
  get(key: string): MaybePromise<ReadonlyJSONValue | undefined>;
  /**
   * Up to `limit` entries with keys starting with `prefix` and greater than `after`
   * (when given), in ascending key order, all from one consistent state.
   */
  scanBatch(
    prefix: string,
    after: string | undefined,
    limit: number,
  ): MaybePromise<readonly Entry[]>;
  /**
   * Applies all changes atomically. When `captureOld` is given, it is called with each
   * changed key's previous value before the commit becomes visible to later reads.
   */
  commit(
    changes: Changes,
    captureOld: ((key: string, old: ReadonlyJSONValue | undefined) => void) | undefined,
  ): MaybePromise<void>;
  close(): MaybePromise<void>;
}
