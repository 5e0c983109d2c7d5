// Rows persist in hash buckets (`b/<table>/<hh>`); the one-key-per-row layout of earlier
// builds is read and migrated on load.
import type {PokeBody} from '@zync/protocol';
import {createBuilder, createSchema, json, number, string, table} from '@zync/zql';
import {materialize} from '@zync/zql/ivm';
import {expect, test} from 'vitest';
import {memStoreProvider} from '../kv/mem-store.ts';
import {isVouchedFrozenJSON} from '../kv/frozen-json.ts';
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

test('row keys are the JSON of the primary key values, whatever their type', () => {
  const s = new LocalState(
    createSchema({
      tables: [
        table('one').columns({id: string()}).primaryKey('id'),
        table('num').columns({n: number()}).primaryKey('n'),
        table('two').columns({a: string(), b: number()}).primaryKey('a', 'b'),
      ],
    }),
  );
  for (const id of ['x', 'with "quotes" and \\', 'ünï\u2028code', '']) {
    expect(s.keyOf('one', {id})).toBe(`r/one/${JSON.stringify([id])}`);
  }
  for (const n of [0, -0, 1.5, -3, 1e21, 2 ** 53 + 2, Number.NaN]) {
    expect(s.keyOf('num', {n})).toBe(`r/num/${JSON.stringify([n])}`);
  }
  expect(s.keyOf('two', {a: 'k', b: 7})).toBe('r/two/["k",7]');
  expect(s.keyOf('two', {a: null, b: undefined} as never)).toBe('r/two/[null,null]');
});

test('serverRows follows puts, deletes and clear', () => {
  const s = new LocalState(schema);
  s.applyPoke(
    poke([
      {op: 'put', table: 'issue', value: {id: 'a', rank: 1}},
      {op: 'put', table: 'issue', value: {id: 'b', rank: 2}},
      {op: 'put', table: 'issue', value: {id: 'a', rank: 3}},
      {op: 'del', table: 'issue', id: {id: 'missing'}},
    ]),
  );
  const rows = s.serverRows.get('issue')!;
  expect(rows.size).toBe(2);
  expect(rows.get(s.keyOf('issue', {id: 'a'}))).toEqual({id: 'a', rank: 3});
  expect(rows.has(s.keyOf('issue', {id: 'b'}))).toBe(true);
  expect(new Set(rows.keys())).toEqual(new Set(['r/issue/["a"]', 'r/issue/["b"]']));
  expect([...rows.entries()].length).toBe(2);
  s.applyPoke(poke([{op: 'del', table: 'issue', id: {id: 'b'}}], 'v2'));
  expect(rows.size).toBe(1);
  expect(rows.get(s.keyOf('issue', {id: 'b'}))).toBeUndefined();
  s.applyPoke(poke([{op: 'clear'}], 'v3'));
  expect(rows.size).toBe(0);
  expect([...rows.values()]).toEqual([]);
  expect(s.sources.get('issue')?.size).toBe(0);
});

test('rows from a poke are frozen, and the memory store keeps the frozen buckets as given', async () => {
  const store = memStoreProvider().create('local-state-3');
  const s = new LocalState(schema);
  const ops = s.applyPoke(poke([{op: 'put', table: 'issue', value: {id: 'a', rank: 1}}]));
  const row = s.visible('issue', {id: 'a'})!;
  expect(Object.isFrozen(row)).toBe(true);
  const bucket = ops.find(o => o.key.startsWith(BUCKET_PREFIX))!;
  expect(Object.isFrozen(bucket.value)).toBe(true);
  await write(store, ops);
  const r = await store.read();
  expect(await r.get(bucket.key)).toBe(bucket.value);
  r.release();
});

test('the writes of a poke keep their content when a later poke changes the same rows', async () => {
  const store = memStoreProvider().create('local-state-4');
  const s = new LocalState(schema);
  const first = s.applyPoke({
    ...poke([{op: 'put', table: 'issue', value: {id: 'a', rank: 1}}]),
    lastMutationIDChanges: {c: 1},
  });
  const second = s.applyPoke({
    ...poke(
      [
        {op: 'put', table: 'issue', value: {id: 'a', rank: 2}},
        {op: 'put', table: 'issue', value: {id: 'b', rank: 3}},
      ],
      'v2',
    ),
    lastMutationIDChanges: {c: 2},
  });
  await write(store, first);
  const a = new LocalState(schema);
  await a.load(store);
  expect([...a.serverRows.get('issue')!.values()]).toEqual([{id: 'a', rank: 1}]);
  expect(a.version).toBe('v1');
  expect(a.lastMutationIDs).toEqual({c: 1});
  await write(store, second);
  const b = new LocalState(schema);
  await b.load(store);
  expect(b.serverRows.get('issue')?.size).toBe(2);
  expect(b.visible('issue', {id: 'a'})).toEqual({id: 'a', rank: 2});
  expect(b.lastMutationIDs).toEqual({c: 2});
});

test('buckets are arrays of rows; buckets written as objects by earlier builds still load', async () => {
  const store = memStoreProvider().create('local-state-5');
  const probe = new LocalState(schema);
  const ops = probe.applyPoke(poke([{op: 'put', table: 'issue', value: {id: 'x', rank: 1}}]));
  const bucket = ops.find(o => o.key.startsWith(BUCKET_PREFIX))!;
  expect(bucket.value).toEqual([{id: 'x', rank: 1}]);
  // The earlier layout: row key → row, in the bucket of the row key's hash.
  await write(store, [
    {key: bucket.key, value: {'r/issue/["x"]': {id: 'x', rank: 1}}},
    {key: 'm/version', value: 'v1'},
  ]);
  const s = new LocalState(schema);
  expect(await s.load(store)).toEqual([]);
  expect(s.visible('issue', {id: 'x'})).toEqual({id: 'x', rank: 1});
  expect(s.serverRows.get('issue')?.has('r/issue/["x"]')).toBe(true);

  // Touching the bucket rewrites it as an array.
  const next = s.applyPoke(
    poke(
      [
        {op: 'put', table: 'issue', value: {id: 'x', rank: 3}},
        {op: 'put', table: 'issue', value: {id: 'y', rank: 2}},
      ],
      'v2',
    ),
  );
  await write(store, next);
  const r = await store.read();
  expect(await r.get(bucket.key)).toContainEqual({id: 'x', rank: 3});
  r.release();
  const again = new LocalState(schema);
  await again.load(store);
  expect(again.serverRows.get('issue')?.size).toBe(2);
  expect(again.visible('issue', {id: 'x'})).toEqual({id: 'x', rank: 3});
  expect(again.visible('issue', {id: 'y'})).toEqual({id: 'y', rank: 2});
});

test('rows get the client schema: its columns in its order, missing ones null, others dropped', () => {
  const s = new LocalState(
    createSchema({
      tables: [
        table('issue').columns({id: string(), rank: number()}).primaryKey('id'),
        table('renamed')
          .from('srv')
          .columns({id: string(), rank: number().from('rank_num')})
          .primaryKey('id'),
      ],
    }),
  );
  const exact = {id: 'a', rank: 1};
  s.applyPoke(
    poke([
      {op: 'put', table: 'issue', value: exact},
      {op: 'put', table: 'issue', value: {rank: 2, id: 'b'}},
      {op: 'put', table: 'issue', value: {id: 'c', rank: 3, extra: true}},
      {op: 'put', table: 'issue', value: {id: 'd'}},
      {op: 'put', table: 'srv', value: {id: 'e', rank_num: 5}},
    ]),
  );
  const rows = ['a', 'b', 'c', 'd'].map(id => s.visible('issue', {id})!);
  for (const row of rows) expect(Object.keys(row)).toEqual(['id', 'rank']);
  expect(rows.map(r => r.rank)).toEqual([1, 2, 3, null]);
  expect(rows.every(r => Object.isFrozen(r))).toBe(true);
  expect(s.visible('renamed', {id: 'e'})).toEqual({id: 'e', rank: 5});
});

test('puts ops: rows in client names and schema order, missing columns null, frozen', () => {
  const s = new LocalState(
    createSchema({
      tables: [
        table('renamed')
          .from('srv')
          .columns({id: string(), rank: number().from('rank_num'), meta: json()})
          .primaryKey('id'),
      ],
    }),
  );
  const parts = [
    s.prepareRows([
      {op: 'clear'},
      {
        op: 'puts',
        table: 'srv',
        columns: ['extra', 'rank_num', 'id'],
        values: [
          [1, 5, 'a'],
          [2, 6, 'b'],
        ],
      },
    ]),
  ];
  // Prepared rows are not visible before their poke.
  expect(s.visible('renamed', {id: 'a'})).toBeUndefined();
  s.applyPoke(
    poke([
      {
        op: 'puts',
        table: 'srv',
        columns: ['id', 'meta'],
        values: [['c', {tags: ['x']}]],
      },
      {op: 'puts', table: 'srv', columns: ['id', '__proto__'], values: [['d', {x: 1}]]},
      {op: 'puts', table: 'unknown', columns: ['id'], values: [['z']]},
    ]),
    parts,
  );
  const a = s.visible('renamed', {id: 'a'})!;
  expect(Object.keys(a)).toEqual(['id', 'rank', 'meta']);
  expect(a).toEqual({id: 'a', rank: 5, meta: null});
  expect(s.visible('renamed', {id: 'b'})).toEqual({id: 'b', rank: 6, meta: null});
  const c = s.visible('renamed', {id: 'c'})!;
  expect(c).toEqual({id: 'c', rank: null, meta: {tags: ['x']}});
  expect(Object.isFrozen(c) && Object.isFrozen(c['meta'])).toBe(true);
  // A column the client does not know is dropped, `__proto__` too.
  const d = s.visible('renamed', {id: 'd'})!;
  expect(Object.getPrototypeOf(d)).toBe(Object.prototype);
  expect(d).toEqual({id: 'd', rank: null, meta: null});
  expect(s.serverRows.get('renamed')?.size).toBe(4);
});

/** FNV-1a of the row key, as the bucket layout defines it. */
function bucketOfKey(table: string, rowKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < rowKey.length; i++) {
    h ^= rowKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `b/${table}/${((h >>> 0) % 256).toString(16).padStart(2, '0')}`;
}

test('each row goes to the bucket of the FNV-1a hash of its row key, found again by that key', () => {
  const s = new LocalState(
    createSchema({
      tables: [
        table('n').columns({id: number()}).primaryKey('id'),
        table('s').columns({id: string()}).primaryKey('id'),
        table('two').columns({a: string(), b: number()}).primaryKey('a', 'b'),
      ],
    }),
  );
  const numbers = [0, -0, 1, -1, 9, 10, 99, 100, 123456789, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53];
  numbers.push(1.5, -2.5e-7, 1e21, 0.1 + 0.2);
  const strings = ['', 'a', 'with "q"', 'back\\slash', 'tab\t', 'é', '😀', '\ud800', '\u2028'];
  const cases: [string, Record<string, unknown>][] = [
    ...numbers.map(id => ['n', {id}] as [string, Record<string, unknown>]),
    ...strings.map(id => ['s', {id}] as [string, Record<string, unknown>]),
    ['two', {a: 'x', b: 1}],
    ['two', {a: '"', b: -3}],
  ];
  for (const [t, value] of cases) {
    const ops = s.applyPoke(poke([{op: 'put', table: t, value: value as never}]));
    const rowKey = s.keyOf(t, value as never);
    expect(ops[0]?.key).toBe(bucketOfKey(t, rowKey));
    expect(s.serverRows.get(t)?.get(rowKey)).toEqual(value);
  }
  expect(s.serverRows.get('n')?.size).toBe(numbers.length - 1); // 0 and -0 are one row
  expect(s.serverRows.get('n')?.get('r/n/[1.0]')).toBeUndefined();
  expect(s.serverRows.get('n')?.get('r/n/[not json')).toBeUndefined();
  expect(s.serverRows.get('s')?.get('r/s/[1]')).toBeUndefined();
  expect(new Set(s.serverRows.get('s')?.keys())).toEqual(
    new Set(strings.map(id => s.keyOf('s', {id}))),
  );
});

test('only buckets of rows built from pokes, all plain JSON, are vouched for as frozen', async () => {
  const store = memStoreProvider().create('local-state-6');
  const s = new LocalState(schema);
  const ops = s.applyPoke(
    poke([
      {op: 'put', table: 'issue', value: {id: 'a', rank: 1}},
      {op: 'put', table: 'issue', value: {id: 'b', rank: Number.NaN}},
    ]),
  );
  const bucketOf = (id: string) => bucketOfKey('issue', s.keyOf('issue', {id}));
  const valueOf = (id: string) => ops.find(o => o.key === bucketOf(id))!.value;
  expect(isVouchedFrozenJSON(valueOf('a'))).toBe(true);
  expect(isVouchedFrozenJSON(valueOf('b'))).toBe(false);
  // Not vouched: the memory store checks it, and refuses the non-finite number as ever.
  await expect(write(store, ops)).rejects.toThrow(/finite/);

  await write(
    store,
    ops.filter(o => o.key !== bucketOf('b')),
  );
  const loaded = new LocalState(schema);
  await loaded.load(store);
  // A bucket that held rows read from the store is checked by the store, not vouched for.
  const again = loaded.applyPoke(poke([{op: 'put', table: 'issue', value: {id: 'a', rank: 5}}]));
  expect(again.find(o => o.key === bucketOf('a'))?.value).toEqual([{id: 'a', rank: 5}]);
  expect(isVouchedFrozenJSON(again.find(o => o.key === bucketOf('a'))?.value)).toBe(false);
  await write(store, again);
});

test('a view made before the load sees every stored row, in order, in one update', async () => {
  const store = memStoreProvider().create('local-state-7');
  const s = new LocalState(schema);
  const ids = Array.from({length: 2000}, (_, i) => `i${String(i).padStart(4, '0')}`);
  await write(
    store,
    s.applyPoke(poke(ids.map((id, rank) => ({op: 'put', table: 'issue', value: {id, rank}})))),
  );
  const loaded = new LocalState(schema);
  const view = materialize(
    createBuilder(schema).issue.ast,
    {getSource: t => loaded.sources.get(t)},
    {batcher: loaded.batcher},
  );
  const updates: number[] = [];
  view.addListener(d => updates.push((d as unknown[]).length));
  await loaded.load(store);
  expect(updates).toEqual([2000]);
  expect((view.data as {id: string}[]).map(r => r.id)).toEqual(ids);
  view.destroy();
});
