import {IDBFactory} from 'fake-indexeddb';
import {expect, test, vi} from 'vitest';
import {idbStoreProvider} from './idb-store.ts';
import {MemDatabases} from './mem-store.ts';
import {runStoreContract} from './store-contract.ts';
import {useFakeIndexedDB} from '../../test/fake-indexeddb.ts';

useFakeIndexedDB();

runStoreContract('idb (fake-indexeddb)', {
  persistent: true,
  makeProvider: () => idbStoreProvider(),
});

const warnLogger = () => {
  const warn = vi.fn();
  const logger = {debug: vi.fn(), info: vi.fn(), warn, error: vi.fn(), with: () => logger};
  return {logger, warn};
};

test('idb: falls back to memory with one warning when IndexedDB is missing', async () => {
  const saved = globalThis.indexedDB;
  // @ts-expect-error simulating an environment without IndexedDB
  delete globalThis.indexedDB;
  try {
    const {logger, warn} = warnLogger();
    const onFallback = vi.fn();
    const p = idbStoreProvider({logger, onFallback, fallbackDatabases: new MemDatabases()});
    const a = p.create('one');
    const b = p.create('two');
    const w = await a.write();
    await w.put('k', 1);
    await w.commit();
    const r = await p.create('one').read();
    expect(await r.get('k')).toBe(1);
    r.release();
    await b.close();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(onFallback).toHaveBeenCalledTimes(1);
  } finally {
    globalThis.indexedDB = saved;
  }
});

test('idb: falls back to memory with one warning when open fails (private mode)', async () => {
  const factory = new IDBFactory();
  factory.open = () => {
    throw new DOMException('The user denied permission', 'InvalidStateError');
  };
  const {logger, warn} = warnLogger();
  const p = idbStoreProvider({
    indexedDB: factory,
    logger,
    fallbackDatabases: new MemDatabases(),
  });
  const s = p.create('db');
  const w = await s.write();
  await w.put('k', 'v');
  await w.commit();
  const s2 = p.create('db');
  const r = await s2.read();
  expect(await r.get('k')).toBe('v');
  r.release();
  const s3 = p.create('other');
  (await s3.read()).release();
  expect(warn).toHaveBeenCalledTimes(1);
  expect(String(warn.mock.calls[0]![0])).toMatch(/IndexedDB/);
  expect(JSON.stringify(warn.mock.calls[0]![1])).toMatch(/InvalidStateError/);
});

test('idb: a delete from another context closes our connection cleanly', async () => {
  const factory = new IDBFactory();
  const lost = vi.fn();
  const p = idbStoreProvider({indexedDB: factory, onConnectionLost: lost});
  const s = p.create('shared');
  const w = await s.write();
  await w.put('k', 1);
  await w.commit();
  // Another tab: its own connection-less delete.
  await new Promise<void>((resolve, reject) => {
    const req = factory.deleteDatabase('shared');
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error ?? new Error('delete failed'));
  });
  await vi.waitFor(() => expect(lost).toHaveBeenCalledWith('shared', 'versionchange'));
  expect(s.closed).toBe(true);
});
