// fake-indexeddb as the IndexedDB globals for one test file: installed before its tests,
// and the globals as they were put back after them. A test worker runs many files one after
// the other, and a file without IndexedDB must not see another file's fake.
import * as fake from 'fake-indexeddb';
import {afterAll, beforeAll} from 'vitest';

/** The interfaces a browser has as globals, besides `indexedDB` itself. */
const CLASSES = [
  'IDBCursor',
  'IDBCursorWithValue',
  'IDBDatabase',
  'IDBFactory',
  'IDBIndex',
  'IDBKeyRange',
  'IDBObjectStore',
  'IDBOpenDBRequest',
  'IDBRequest',
  'IDBTransaction',
  'IDBVersionChangeEvent',
] as const;

/** Each file gets an IndexedDB of its own, empty: the databases of another file are not in it. */
export function useFakeIndexedDB(): void {
  const saved = new Map<string, PropertyDescriptor | undefined>();
  beforeAll(() => {
    const fakes: [string, unknown][] = [
      ...CLASSES.map(name => [name, fake[name]] as [string, unknown]),
      ['indexedDB', new fake.IDBFactory()],
    ];
    for (const [name, value] of fakes) {
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
