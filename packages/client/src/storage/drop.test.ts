import {mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, expect, test, vi} from 'vitest';
import {MemDatabases, memStoreProvider} from '../kv/mem-store.ts';
import {sqliteStoreProvider} from '../kv/sqlite-store.ts';
import type {Store, StoreProvider} from '../kv/store.ts';
import {DropBus} from './drop-bus.ts';
import {dropAllDatabases, dropDatabase, resolveStoreProvider, watchDrops} from './drop.ts';
import {REGISTRY_NAME} from './registry.ts';
import {useFakeIndexedDB} from '../../test/fake-indexeddb.ts';

useFakeIndexedDB();

const dir = mkdtempSync(join(tmpdir(), 'zync-drop-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

async function put(store: Store, key: string, value: string): Promise<void> {
  const w = await store.write();
  await w.put(key, value);
  await w.commit();
}

async function has(store: Store, key: string): Promise<boolean> {
  const r = await store.read();
  try {
    return await r.has(key);
  } finally {
    r.release();
  }
}

test('dropAllDatabases finds what a provider created, closes live stores, forgets data', async () => {
  const raw = memStoreProvider({databases: new MemDatabases()});
  const p = resolveStoreProvider(raw);
  const names = ['zync/a//1', 'zync/b//1', 'zync/c/k/2'];
  const stores = names.map(n => p.create(n));
  for (const s of stores) await put(s, 'row', 'v');
  expect((await p.listDatabases()).sort()).toEqual(names);

  const {dropped, errors} = await dropAllDatabases({kvStore: raw});
  expect(errors).toEqual([]);
  expect(dropped.sort()).toEqual(names);
  for (const s of stores) expect(s.closed).toBe(true);
  for (const n of names) expect(await has(raw.create(n), 'row')).toBe(false);
  expect(await p.listDatabases()).toEqual([]);
  expect(await dropAllDatabases({kvStore: raw})).toEqual({dropped: [], errors: []});
});

test('dropAllDatabases reports a failing drop in errors and drops the rest', async () => {
  const mem = memStoreProvider({databases: new MemDatabases()});
  const failing: StoreProvider = {
    create: name => mem.create(name),
    drop: async name => {
      if (name === 'zync/bad//1') throw new Error('disk on fire');
      await mem.drop(name);
    },
  };
  const p = resolveStoreProvider(failing);
  for (const n of ['zync/good//1', 'zync/bad//1', 'zync/fine//1']) {
    const s = p.create(n);
    await put(s, 'k', 'v');
    await s.close();
  }
  const {dropped, errors} = await dropAllDatabases({kvStore: failing});
  expect(dropped.sort()).toEqual(['zync/fine//1', 'zync/good//1']);
  expect(errors).toHaveLength(1);
  expect(String(errors[0])).toMatch(/disk on fire/);
  // The failed one stays registered, so a later attempt can retry it.
  expect(await p.listDatabases()).toEqual(['zync/bad//1']);
});

test('dropDatabase drops one database and notifies watchers', async () => {
  const raw = memStoreProvider({databases: new MemDatabases()});
  const p = resolveStoreProvider(raw);
  const a = p.create('zync/a//1');
  const b = p.create('zync/b//1');
  await put(a, 'k', 'a');
  await put(b, 'k', 'b');
  const onDropped = vi.fn();
  const unwatch = watchDrops('zync/a//1', onDropped, {kvStore: raw});
  await dropDatabase('zync/a//1', {kvStore: raw});
  expect(onDropped).toHaveBeenCalledWith('dropped');
  expect(a.closed).toBe(true);
  expect(b.closed).toBe(false);
  expect(await has(b, 'k')).toBe(true);
  expect(await p.listDatabases()).toEqual(['zync/b//1']);
  unwatch();
  await b.close();
});

test('a drop in another context closes live stores here through BroadcastChannel', async () => {
  const channel = `zync-drops-test-${Math.random()}`;
  const shared = new MemDatabases(); // the storage both "tabs" see
  const tabA = resolveStoreProvider(memStoreProvider({databases: shared}), {
    bus: new DropBus(channel),
  });
  const busB = new DropBus(channel);
  const tabB = resolveStoreProvider(memStoreProvider({databases: shared}), {bus: busB});

  const store = tabA.create('zync/u//1');
  await put(store, 'k', 'v');
  const onDropped = vi.fn();
  const unwatch = tabA.bus.watch(tabA.scope, 'zync/u//1', onDropped);

  await tabB.drop('zync/u//1');
  await vi.waitFor(() => expect(onDropped).toHaveBeenCalledWith('dropped-elsewhere'));
  expect(store.closed).toBe(true);
  unwatch();
});

test('idb: dropAllDatabases is not blocked by stores open in this context', async () => {
  const p = resolveStoreProvider('idb', {bus: new DropBus(`zync-idb-test-${Math.random()}`)});
  const s1 = p.create('zync/x//1');
  const s2 = p.create('zync/y//1');
  await put(s1, 'k', 'v');
  await put(s2, 'k', 'v');
  const onDropped = vi.fn();
  p.bus.watch('idb', 'zync/x//1', onDropped);
  const {dropped, errors} = await dropAllDatabases({kvStore: p});
  expect(errors).toEqual([]);
  expect(dropped.sort()).toEqual(['zync/x//1', 'zync/y//1']);
  expect(s1.closed && s2.closed).toBe(true);
  expect(onDropped).toHaveBeenCalledWith('dropped');
  const dbs = await indexedDB.databases();
  expect(dbs.map(d => d.name).sort()).toEqual([REGISTRY_NAME]);
  const again = p.create('zync/x//1');
  expect(await has(again, 'k')).toBe(false);
  await again.close();
});

test('idb fallback: one clear warning through the logger, then memory', async () => {
  const saved = globalThis.indexedDB;
  // @ts-expect-error simulating a browser without IndexedDB
  delete globalThis.indexedDB;
  try {
    const warn = vi.fn();
    const logger = {debug: vi.fn(), info: vi.fn(), warn, error: vi.fn(), with: () => logger};
    const bus = new DropBus(`zync-fallback-test-${Math.random()}`);
    const p = resolveStoreProvider('idb', {logger, bus});
    const s = p.create('zync/f//1');
    await put(s, 'k', 'v');
    expect(await has(p.create('zync/f//1'), 'k')).toBe(true);
    resolveStoreProvider('idb', {logger, bus}).create('zync/g//1');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/IndexedDB is not available/);
    const {dropped} = await dropAllDatabases({kvStore: p});
    expect(dropped).toContain('zync/f//1');
  } finally {
    globalThis.indexedDB = saved;
  }
});

test('sqlite: the registry lives in the same directory; dropAllDatabases removes the files', async () => {
  const d = join(dir, 'sqlite');
  const p = resolveStoreProvider(sqliteStoreProvider({directory: d}));
  for (let i = 0; i < 5; i++) {
    const s = p.create(`zync/u${i}//1`);
    await put(s, 'k', 'v');
    await s.close();
  }
  expect(readdirSync(d).length).toBe(6);
  // A new provider over the same directory (e.g. after a restart) finds them.
  const {dropped, errors} = await dropAllDatabases({kvStore: sqliteStoreProvider({directory: d})});
  expect(errors).toEqual([]);
  expect(dropped).toHaveLength(5);
  expect(readdirSync(d)).toEqual(['zync%2Fregistry.db']);
});
