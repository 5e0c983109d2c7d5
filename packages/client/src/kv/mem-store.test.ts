import {expect, test} from 'vitest';
import {vouchFrozenJSON} from './frozen-json.ts';
import {MemDatabases, memStoreProvider} from './mem-store.ts';
import {runStoreContract} from './store-contract.ts';

runStoreContract('mem', {persistent: false, makeProvider: () => memStoreProvider()});

test('mem: a store left open across a drop cannot leak rows into the new database', async () => {
  const databases = new MemDatabases();
  const p = memStoreProvider({databases});
  const a = p.create('db');
  const b = p.create('db');
  const w = await a.write();
  await w.put('row', 1);
  await w.commit();
  await p.drop('db');
  expect(a.closed).toBe(true);
  expect(b.closed).toBe(true);
  await expect(b.write()).rejects.toThrow();
  const c = p.create('db');
  const r = await c.read();
  expect(await r.has('row')).toBe(false);
  r.release();
  await c.close();
});

test('mem: data outlives the stores, within one MemDatabases', async () => {
  const databases = new MemDatabases();
  const a = memStoreProvider({databases}).create('x');
  const w = await a.write();
  await w.put('k', 'v');
  await w.commit();
  await a.close();
  const b = memStoreProvider({databases}).create('x');
  const r = await b.read();
  expect(await r.get('k')).toBe('v');
  r.release();
  const other = memStoreProvider({databases: new MemDatabases()}).create('x');
  const r2 = await other.read();
  expect(await r2.has('k')).toBe(false);
  r2.release();
});

test('mem: values got are frozen copies', async () => {
  const s = memStoreProvider({databases: new MemDatabases()}).create('f');
  const w = await s.write();
  await w.put('k', {a: [1]});
  await w.commit();
  const r = await s.read();
  const v = (await r.get('k')) as {a: number[]};
  expect(Object.isFrozen(v)).toBe(true);
  expect(Object.isFrozen(v.a)).toBe(true);
  r.release();
});

test('mem: a deeply frozen value is kept as it is; anything mutable inside is copied', async () => {
  const s = memStoreProvider({databases: new MemDatabases()}).create('g');
  const frozen = Object.freeze({a: Object.freeze([1, Object.freeze({b: 'x'})])});
  const inner = {b: 'y'};
  const partly = Object.freeze({a: Object.freeze([inner])});
  const w = await s.write();
  await w.put('frozen', frozen);
  await w.put('partly', partly);
  await w.commit();
  inner.b = 'changed';
  const r = await s.read();
  expect(await r.get('frozen')).toBe(frozen);
  const got = (await r.get('partly')) as {a: {b: string}[]};
  expect(got).not.toBe(partly);
  expect(got).toEqual({a: [{b: 'y'}]});
  expect(Object.isFrozen(got.a[0])).toBe(true);
  r.release();
});

test('mem: a frozen value still has its numbers checked', async () => {
  const s = memStoreProvider({databases: new MemDatabases()}).create('h');
  const w = await s.write();
  await w.put('k', Object.freeze({n: Number.POSITIVE_INFINITY}));
  await expect(w.commit()).rejects.toThrow(/finite/);
});

test('mem: a vouched-for value is kept as it is, without being walked', async () => {
  const s = memStoreProvider({databases: new MemDatabases()}).create('i');
  const value = vouchFrozenJSON(Object.freeze([Object.freeze({a: 1})]));
  const w = await s.write();
  await w.put('k', value);
  await w.commit();
  const r = await s.read();
  expect(await r.get('k')).toBe(value);
  r.release();
});
