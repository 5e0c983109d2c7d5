// fake-indexeddb as the IndexedDB globals for one test file: installed before its tests,
// and the globals as they were put back after them. A test worker runs many files one after
// the other, and a file without IndexedDB must not see another file's fake.
import {
  IDBCursor,
  IDBCursorWithValue,
  IDBDatabase,
  IDBFactory,
  IDBIndex,
  IDBKeyRange,
  IDBObjectStore,
  IDBOpenDBRequest,
  IDBRequest,
  IDBTransaction,
  IDBVersionChangeEvent,
} from 'fake-indexeddb';
import {afterAll, beforeAll} from 'vitest';

const CLASSES: Record<string, unknown> = {
  IDBCursor,
  IDBCursorWithValue,
  IDBDatabase,
  IDBFactory,
  IDBIndex,
  IDBKeyRange,
  IDBObjectStore,
  IDBOpenDBRequest,
  IDBRequest,
  IDBTransaction,
  IDBVersionChangeEvent,
};

/** Each file gets an IndexedDB of its own, empty: the databases of another file are not in it. */
export function useFakeIndexedDB(): void {
  const saved = new Map<string, PropertyDescriptor | undefined>();
  beforeAll(() => {
    const fakes = {...CLASSES, indexedDB: new IDBFactory()};
    for (const [name, value] of Object.entries(fakes)) {
      saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
      Object.defineProperty(globalThis, name, {value, configurable: true, writable: true});
    }
  });
  afterAll(() => {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete (globalThis as Record<string, unknown>)[name];
    }
  });
}
