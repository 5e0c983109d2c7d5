// The contract every StoreProvider must meet. Each backend's test file calls
// `runStoreContract` with a way to make a fresh provider.
import type {ReadonlyJSONValue} from '@zync/shared';
import {afterEach, describe, expect, test} from 'vitest';
import type {Store, StoreProvider} from './store.ts';
import {canScan} from './store.ts';

export type ContractOptions = {
  /** Data survives closing every store and creating a new one from a new provider. */
  persistent: boolean;
  /** A new provider over the same underlying storage (same directory, same IDBFactory...). */
  makeProvider: () => StoreProvider;
};

let counter = 0;

export function runStoreContract(label: string, opts: ContractOptions): void {
  describe(`store contract: ${label}`, () => {
    const open: Store[] = [];
    const fresh = () => {
      const provider = opts.makeProvider();
      const name = `contract-${Date.now()}-${counter++}`;
      const create = () => {
        const s = provider.create(name);
        open.push(s);
        return s;
      };
      return {provider, name, create, store: create()};
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map(s => s.close()));
    });

    test('put, get, has, del, commit', async () => {
      const {store} = fresh();
      const w = await store.write();
      expect(await w.has('a')).toBe(false);
      await w.put('a', 1);
      await w.put('b', 'two');
      expect(await w.get('a')).toBe(1);
      expect(await w.has('b')).toBe(true);
      await w.del('b');
      expect(await w.has('b')).toBe(false);
      await w.commit();
      expect(w.closed).toBe(true);

      const r = await store.read();
      expect(await r.get('a')).toBe(1);
      expect(await r.has('a')).toBe(true);
      expect(await r.get('b')).toBeUndefined();
      expect(await r.has('missing')).toBe(false);
      r.release();
      expect(r.closed).toBe(true);
      await expect(r.get('a')).rejects.toThrow();

      const w2 = await store.write();
      await w2.del('a');
      await w2.commit();
      const r2 = await store.read();
      expect(await r2.has('a')).toBe(false);
      r2.release();
    });

    test('JSON values round-trip', async () => {
      const {store} = fresh();
      const values: Record<string, ReadonlyJSONValue> = {
        null: null,
        true: true,
        false: false,
        zero: 0,
        neg: -12.5,
        big: 2 ** 53 - 1,
        empty: '',
        unicode: 'héllo ✓ 𝄞 \u0000 "q"',
        arr: [1, 'x', null, [true, {}]],
        obj: {a: {b: [1, 2, {c: 'd'}]}, 'key with space': 1, '': 'empty key'},
      };
      const w = await store.write();
      for (const [k, v] of Object.entries(values)) await w.put(k, v);
      await w.commit();
      const r = await store.read();
      for (const [k, v] of Object.entries(values)) expect(await r.get(k)).toEqual(v);
      r.release();
      // Keys may be any string.
      const w2 = await store.write();
      await w2.put('', 'empty');
      await w2.put('a/b\u00e9\u{1F600}', 'odd');
      await w2.commit();
      const r2 = await store.read();
      expect(await r2.get('')).toBe('empty');
      expect(await r2.get('a/b\u00e9\u{1F600}')).toBe('odd');
      r2.release();
    });

    test('values put are copied: later mutation of the object does not leak', async () => {
      const {store} = fresh();
      const obj = {n: 1};
      const w = await store.write();
      await w.put('k', obj);
      await w.commit();
      obj.n = 2;
      const r = await store.read();
      expect(await r.get('k')).toEqual({n: 1});
      r.release();
    });

    test('an uncommitted write is invisible; release without commit discards', async () => {
      const {store} = fresh();
      const w = await store.write();
      await w.put('x', 1);
      const r = await store.read();
      expect(await r.has('x')).toBe(false);
      r.release();
      w.release();
      expect(w.closed).toBe(true);
      await expect(w.put('y', 1)).rejects.toThrow();
      const r2 = await store.read();
      expect(await r2.has('x')).toBe(false);
      r2.release();
    });

    test('a commit is atomic and visible to reads that start after it', async () => {
      const {store} = fresh();
      const w = await store.write();
      for (let i = 0; i < 1200; i++) await w.put(`k${String(i).padStart(4, '0')}`, i);
      await w.commit();
      const r = await store.read();
      expect(await r.get('k0000')).toBe(0);
      expect(await r.get('k1199')).toBe(1199);
      r.release();
    });

    test('reads see a snapshot: a commit during a read is not seen by it', async () => {
      const {store} = fresh();
      const w0 = await store.write();
      await w0.put('a', 'old');
      await w0.put('b', 'old');
      await w0.put('d', 'old');
      await w0.commit();

      const r = await store.read();
      expect(await r.get('a')).toBe('old');
      const w = await store.write();
      await w.put('a', 'new');
      await w.put('c', 'new');
      await w.del('b');
      await w.del('d');
      await w.commit();

      expect(await r.get('a')).toBe('old');
      expect(await r.get('b')).toBe('old');
      expect(await r.has('c')).toBe(false);
      expect(await r.get('d')).toBe('old');
      if (canScan(r)) {
        const seen: [string, ReadonlyJSONValue][] = [];
        for await (const [k, v] of r.scan('')) seen.push([k, v]);
        expect(seen).toEqual([
          ['a', 'old'],
          ['b', 'old'],
          ['d', 'old'],
        ]);
      }
      r.release();

      const r2 = await store.read();
      expect(await r2.get('a')).toBe('new');
      expect(await r2.has('b')).toBe(false);
      expect(await r2.get('c')).toBe('new');
      r2.release();
    });

    test('writes are serialised: a second write waits for the first', async () => {
      const {store} = fresh();
      const order: string[] = [];
      const w1 = await store.write();
      const p2 = store.write().then(async w2 => {
        order.push('w2');
        expect(await w2.get('n')).toBe(1);
        await w2.put('n', 2);
        await w2.commit();
      });
      await new Promise(r => setTimeout(r, 20));
      order.push('w1');
      await w1.put('n', 1);
      await w1.commit();
      await p2;
      expect(order).toEqual(['w1', 'w2']);
      const r = await store.read();
      expect(await r.get('n')).toBe(2);
      r.release();
    });

    test('scan returns entries by prefix in key order, with a write seeing its own changes', async () => {
      const {store} = fresh();
      const w = await store.write();
      const keys: string[] = [];
      for (let i = 0; i < 1100; i++) keys.push(`row/${String(i).padStart(5, '0')}`);
      for (const k of [...keys].reverse()) await w.put(k, {k});
      await w.put('rox', 1);
      await w.put('ro', 1);
      await w.put('meta', 1);
      await w.commit();
      const r = await store.read();
      if (!canScan(r)) {
        r.release();
        return;
      }
      const got: string[] = [];
      for await (const [k, v] of r.scan('row/')) {
        expect(v).toEqual({k});
        got.push(k);
      }
      expect(got).toEqual(keys);
      const all: string[] = [];
      for await (const [k] of r.scan('')) all.push(k);
      expect(all.length).toBe(1103);
      expect(all[0]).toBe('meta');
      r.release();

      const w2 = await store.write();
      await w2.del('row/00000');
      await w2.put('row/00000x', 1);
      await w2.put('row/99999', 1);
      if (canScan(w2)) {
        const seen: string[] = [];
        for await (const [k] of w2.scan('row/')) seen.push(k);
        expect(seen[0]).toBe('row/00000x');
        expect(seen[1]).toBe('row/00001');
        expect(seen.at(-1)).toBe('row/99999');
        expect(seen.length).toBe(1101);
      }
      w2.release();
    });

    test('close: closed is true, later use fails, close is idempotent', async () => {
      const {store} = fresh();
      expect(store.closed).toBe(false);
      await store.close();
      expect(store.closed).toBe(true);
      await store.close();
      await expect(store.read()).rejects.toThrow();
      await expect(store.write()).rejects.toThrow();
    });

    test('close waits for an in-flight commit', async () => {
      const {store, create} = fresh();
      const w = await store.write();
      for (let i = 0; i < 500; i++) await w.put(`k${i}`, i);
      const committed = w.commit();
      await store.close();
      await committed;
      const again = create();
      const r = await again.read();
      expect(await r.get('k499')).toBe(499);
      r.release();
    });

    test('two stores of one name share data', async () => {
      const {store, create} = fresh();
      const other = create();
      const w = await store.write();
      await w.put('shared', true);
      await w.commit();
      const r = await other.read();
      expect(await r.get('shared')).toBe(true);
      r.release();
    });

    test('different names are separate databases', async () => {
      const a = fresh();
      const b = fresh();
      const w = await a.store.write();
      await w.put('k', 'a');
      await w.commit();
      const r = await b.store.read();
      expect(await r.has('k')).toBe(false);
      r.release();
    });

    if (opts.persistent) {
      test('reopen persists: data survives close and a new provider', async () => {
        const {store, name} = fresh();
        const w = await store.write();
        await w.put('kept', {v: [1, 2]});
        await w.commit();
        await store.close();
        const s2 = opts.makeProvider().create(name);
        open.push(s2);
        const r = await s2.read();
        expect(await r.get('kept')).toEqual({v: [1, 2]});
        r.release();
      });
    }

    test('drop: closes live stores and forgets the data', async () => {
      const {store, provider, name} = fresh();
      const w = await store.write();
      await w.put('gone', 1);
      await w.commit();
      await provider.drop(name);
      expect(store.closed).toBe(true);
      const s2 = provider.create(name);
      open.push(s2);
      const r = await s2.read();
      expect(await r.has('gone')).toBe(false);
      r.release();
      // Dropping a name that does not exist is not an error.
      await provider.drop(`${name}-never-created`);
    });
  });
}
