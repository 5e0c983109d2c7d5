// Rows persist in hash buckets (`b/<table>/<hh>`); the one-key-per-row layout of earlier
// builds is read and migrated on load.
import type {PokeBody} from '@zync/protocol';
import {createSchema, number, string, table} from '@zync/zql';
import {expect, test} from 'vitest';
import {memStoreProvider} from '../kv/mem-store.ts';
import type {Store} from '../kv/store.ts';
import type {KVOp} from './local-state.ts';
import {BUCKET_PREFIX, LocalState} from './local-state.ts';

const schema = createSchema({
  tables: [table('issue').columns({id: string(), rank: number()}).primaryKey('id')],
});

function poke(rows: PokeBody['rows'], version = 'v1'): PokeBody {
  return {
    pokeID: version,
    baseVersion: null,
    version,
    rows,
    gotQueries: [],
    lastMutationIDChanges: {},
  };
}

async function write(store: Store, ops: readonly KVOp[]): Promise<void> {
  const w = await store.write();
  for (const op of ops) {
    if (op.value === undefined) await w.del(op.key);
    else await w.put(op.key, op.value);
  }
  await w.commit();
}

async function keys(store: Store, prefix: string): Promise<string[]> {
  const r = await store.read();
  const out: string[] = [];
  for await (const [k] of r.scan!(prefix)) out.push(k);
  r.release();
  return out;
}

test('a large poke writes a bounded number of buckets; a reload gets every row back', async () => {
  const store = memStoreProvider().create('local-state-0');
  const a = new LocalState(schema);
  const ops = a.applyPoke(
    poke(
      Array.from({length: 5000}, (_, i) => ({
        op: 'put',
        table: 'issue',
        value: {id: `i${i}`, rank: i},
      })),
    ),
  );
  const bucketOps = ops.filter(o => o.key.startsWith(BUCKET_PREFIX));
  expect(bucketOps.length).toBeLessThanOrEqual(256);
  expect(ops.length).toBe(bucketOps.length + 3);
  await write(store, ops);

  const b = new LocalState(schema);
  expect(await b.load(store)).toEqual([]);
  expect(b.serverRows.get('issue')?.size).toBe(5000);
  expect(b.sources.get('issue')?.get({id: 'i4999'})).toEqual({id: 'i4999', rank: 4999});
  expect(b.version).toBe('v1');
});

test('deletes and clear empty their buckets', async () => {
  const store = memStoreProvider().create('local-state-1');
  const s = new LocalState(schema);
  await write(store, s.applyPoke(poke([{op: 'put', table: 'issue', value: {id: 'a', rank: 1}}])));
  await write(store, s.applyPoke(poke([{op: 'del', table: 'issue', id: {id: 'a'}}], 'v2')));
  expect(await keys(store, BUCKET_PREFIX)).toEqual([]);

  await write(
    store,
    s.applyPoke(
      poke(
        [
          {op: 'put', table: 'issue', value: {id: 'b', rank: 1}},
          {op: 'put', table: 'issue', value: {id: 'c', rank: 2}},
        ],
        'v3',
      ),
    ),
  );
  expect((await keys(store, BUCKET_PREFIX)).length).toBeGreaterThan(0);
  await write(
    store,
    s.applyPoke(
      poke([{op: 'clear'}, {op: 'put', table: 'issue', value: {id: 'd', rank: 3}}], 'v4'),
    ),
  );
  const again = new LocalState(schema);
  await again.load(store);
  expect([...again.serverRows.get('issue')!.values()]).toEqual([{id: 'd', rank: 3}]);
});

test('rows stored one per key are loaded and moved into buckets', async () => {
  const store = memStoreProvider().create('local-state-2');
  await write(store, [
    {key: 'r/issue/["x"]', value: {id: 'x', rank: 1}},
    {key: 'r/issue/["y"]', value: {id: 'y', rank: 2}},
  ]);
  const s = new LocalState(schema);
  const migrate = await s.load(store);
  expect(s.serverRows.get('issue')?.size).toBe(2);
  await write(store, migrate);
  expect(await keys(store, 'r/')).toEqual([]);
  const again = new LocalState(schema);
  expect(await again.load(store)).toEqual([]);
  expect(again.sources.get('issue')?.get({id: 'y'})).toEqual({id: 'y', rank: 2});
});
