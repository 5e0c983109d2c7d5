// The write path end to end: CRUD through zero-cache, custom mutators through a real API
// server, results back through replication, confirmed and rebased in the clients.
import type {ZeroOptions} from '@zync/client';
import {memStoreProvider, Zero} from '@zync/client';
import type {ServerTransaction} from '@zync/server';
import {createSchema, number, string, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {ApiServer} from './api-server.ts';
import {startApiServer} from './api-server.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [
    table('item').columns({id: string(), title: string(), votes: number()}).primaryKey('id'),
  ],
});

type ClientTx = {
  mutate: {item: {insert(v: object): Promise<void>; update(v: object): Promise<void>}};
  query: {item: {where(c: string, v: string): {one(): {run(): Promise<unknown>}}}};
};

const clientMutators = {
  item: {
    // The client guesses; the server's implementation decides.
    bump: async (tx: ClientTx, {id}: {id: string}) => {
      await tx.mutate.item.update({id, votes: -1});
    },
    add: async (tx: ClientTx, {id, title}: {id: string; title: string}) => {
      await tx.mutate.item.insert({id, title, votes: 0});
    },
    fail: async (tx: ClientTx, {id}: {id: string}) => {
      await tx.mutate.item.insert({id, title: 'doomed', votes: 0});
    },
  },
};

const serverMutators = {
  item: {
    bump: async (tx: ServerTransaction<typeof schema, unknown>, {id}: {id: string}) => {
      const row = (await tx.query.item.where('id', id).one().run()) as {votes: number};
      await tx.mutate.item.update({id, votes: row.votes + 10});
    },
    add: async (
      tx: ServerTransaction<typeof schema, unknown>,
      {id, title}: {id: string; title: string},
    ) => {
      await tx.mutate.item.insert({id, title: `${title}!`, votes: 0});
    },
    fail: async (tx: ServerTransaction<typeof schema, unknown>, {id}: {id: string}) => {
      await tx.mutate.item.insert({id, title: 'doomed', votes: 0});
      throw new Error('not allowed today');
    },
  },
};

let url: string;
let db: pg.Client;
let zc: StartedZeroCache;
let api: ApiServer;
type Z = Zero<typeof schema, typeof clientMutators>;
const zeros: Z[] = [];

beforeAll(async () => {
  url = await createTestDatabase('e2e_writes');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, title TEXT NOT NULL, votes INT NOT NULL);
                  INSERT INTO item VALUES ('a', 'A', 1);`);
  api = await startApiServer(url, schema, serverMutators);
  zc = await startZeroCache(url, {env: {ZERO_MUTATE_URL: api.url}});
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await api?.close();
  await db?.end();
});

function client(extra: Partial<ZeroOptions<typeof schema, typeof clientMutators>> = {}): Z {
  const z = new Zero({
    server: zc.url,
    userID: 'anon',
    schema,
    kvStore: 'mem' as const,
    mutators: clientMutators,
    ...extra,
  });
  zeros.push(z);
  return z;
}

type View = {data: {id: string; title: string; votes: number}[]; resultType: string};

function live(z: Z): View {
  return z.query.item.orderBy('id', 'asc').materialize() as unknown as View;
}

async function pgRow(id: string) {
  const {rows} = await db.query<{title: string; votes: number}>(
    'SELECT title, votes FROM item WHERE id = $1',
    [id],
  );
  return rows[0];
}

test('CRUD insert, update and delete reach Postgres and the other client', async () => {
  const a = client();
  const b = client();
  const va = live(a);
  const vb = live(b);
  await vi.waitFor(() => expect(vb.resultType).toBe('complete'));
  const ins = a.mutate.item.insert({id: 'crud1', title: 'T', votes: 5});
  await ins.client;
  expect(va.data.find(r => r.id === 'crud1')).toBeTruthy();
  expect(await ins.server).toEqual({type: 'success'});
  expect(await pgRow('crud1')).toEqual({title: 'T', votes: 5});
  await vi.waitFor(() => expect(vb.data.find(r => r.id === 'crud1')?.votes).toBe(5));

  expect(await a.mutate.item.update({id: 'crud1', votes: 6}).server).toEqual({type: 'success'});
  await vi.waitFor(() => expect(vb.data.find(r => r.id === 'crud1')?.votes).toBe(6));
  expect(await a.mutate.item.delete({id: 'crud1'}).server).toEqual({type: 'success'});
  await vi.waitFor(() => expect(vb.data.find(r => r.id === 'crud1')).toBeUndefined());
  expect(await pgRow('crud1')).toBeUndefined();
});

test('a failing CRUD mutation does not block later ones and its error reaches the client', async () => {
  const a = client();
  live(a);
  const dup = a.mutate.item.insert({id: 'a', title: 'dup', votes: 0}); // 'a' exists upstream
  const next = a.mutate.item.insert({id: 'crud2', title: 'after', votes: 0});
  // The client sees 'a' already, so its optimistic insert is a no-op; the server refuses it.
  const out = await dup.server;
  expect(out.type).toBe('error');
  expect(await next.server).toEqual({type: 'success'});
  expect(await pgRow('crud2')).toEqual({title: 'after', votes: 0});
});

test('a custom mutator runs on the client, then on the server; the server result wins', async () => {
  const a = client();
  const va = live(a);
  await vi.waitFor(() => expect(va.resultType).toBe('complete'));
  const r = a.mutate.item.bump({id: 'a'});
  await r.client;
  expect(va.data.find(r => r.id === 'a')?.votes).toBe(-1);
  expect(await r.server).toEqual({type: 'success'});
  await vi.waitFor(() => expect(va.data.find(r => r.id === 'a')?.votes).toBe(11));
  expect(await pgRow('a')).toEqual({title: 'A', votes: 11});
  const sent = api.requests.at(-1);
  expect(sent?.url).toContain(`appID=${zc.appId}`);
});

test('an app error in mutation 2 of 3: 1 and 3 apply, 2 reports its error', async () => {
  const a = client();
  const va = live(a);
  await vi.waitFor(() => expect(va.resultType).toBe('complete'));
  const m1 = a.mutate.item.add({id: 'm1', title: 'one'});
  const m2 = a.mutate.item.fail({id: 'm2'});
  const m3 = a.mutate.item.add({id: 'm3', title: 'three'});
  expect(await m1.server).toEqual({type: 'success'});
  const e2 = await m2.server;
  expect(e2).toMatchObject({type: 'error', error: {type: 'app', message: 'not allowed today'}});
  expect(await m3.server).toEqual({type: 'success'});
  expect(await pgRow('m1')).toEqual({title: 'one!', votes: 0});
  expect(await pgRow('m2')).toBeUndefined();
  expect(await pgRow('m3')).toEqual({title: 'three!', votes: 0});
  await vi.waitFor(() => expect(va.data.find(r => r.id === 'm2')).toBeUndefined());
  expect(va.data.find(r => r.id === 'm3')?.title).toBe('three!');
});

test('the API server returns 500 twice, then succeeds: applied once', async () => {
  const a = client();
  live(a);
  api.state.failures.push(500, 500);
  const before = api.requests.length;
  const r = a.mutate.item.add({id: 'retry1', title: 'r'});
  expect(await r.server).toEqual({type: 'success'});
  expect(api.requests.length - before).toBe(3);
  const {rows} = await db.query(`SELECT count(*)::int AS n FROM item WHERE id = 'retry1'`);
  expect(rows[0]).toEqual({n: 1});
});

test('reload with pending mutations: they are sent and applied exactly once', async () => {
  const provider = memStoreProvider();
  // The first instance never gets a connection: its mutation stays pending in the store.
  const stuck = () => ({
    readyState: 0,
    send() {},
    close() {},
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  });
  const first = client({kvStore: provider, userID: 'reloader', createSocket: stuck});
  const firstID = first.clientID;
  await first.mutate.item.add({id: 'reload1', title: 'x'}).client;
  await first.close();
  const before = api.requests.length;
  const second = client({kvStore: provider, userID: 'reloader'});
  const v = live(second);
  // Once the store is loaded (before the socket is even open), the pending mutation shows.
  await second.clientGroupID;
  expect(v.data.find(r => r.id === 'reload1')?.title).toBe('x');
  await vi.waitFor(() => expect(v.data.find(r => r.id === 'reload1')?.title).toBe('x!'));
  const {rows} = await db.query(`SELECT count(*)::int AS n FROM item WHERE id = 'reload1'`);
  expect(rows[0]).toEqual({n: 1});
  const pushed = api.requests
    .slice(before)
    .flatMap(r => (r.body as {mutations: {clientID: string; id: number}[]}).mutations)
    .filter(m => m.clientID === firstID);
  expect(pushed).toEqual([expect.objectContaining({clientID: firstID, id: 1})]);
});

test('a 401 from the API server on a push loses nothing: new token, resent, applied once', async () => {
  const calls: (string | undefined)[] = [];
  const a = client({
    userID: 'opaque-user',
    auth: (err?: 'invalid-token') => {
      calls.push(err);
      return `opaque-token-${calls.length}`;
    },
  });
  const va = live(a);
  await vi.waitFor(() => expect(va.resultType).toBe('complete'));
  api.state.failures.push(401);
  const before = api.requests.length;
  const r = a.mutate.item.add({id: 'auth401', title: 'kept'});
  expect(await r.server).toEqual({type: 'success'});
  expect(calls).toEqual([undefined, 'invalid-token']);
  const sent = api.requests.slice(before);
  expect(sent.length).toBe(2);
  expect(sent[0]?.headers.authorization).toBe('Bearer opaque-token-1');
  expect(sent[1]?.headers.authorization).toBe('Bearer opaque-token-2');
  const {rows} = await db.query(`SELECT count(*)::int AS n FROM item WHERE id = 'auth401'`);
  expect(rows[0]).toEqual({n: 1});
  await vi.waitFor(() => expect(va.data.find(x => x.id === 'auth401')?.title).toBe('kept!'));
});

test('after a schema change upstream (a reset of every group), mutations are still confirmed', async () => {
  const a = client();
  const va = live(a);
  await vi.waitFor(() => expect(va.resultType).toBe('complete'));
  expect(await a.mutate.item.insert({id: 'pre-alter', title: 'P', votes: 0}).server).toEqual({
    type: 'success',
  });
  await db.query(`ALTER TABLE item ADD COLUMN note TEXT NOT NULL DEFAULT 'n'`);
  await db.query(`INSERT INTO item (id, title, votes) VALUES ('post-alter', 'Q', 0)`);
  await vi.waitFor(() => expect(va.data.some(r => r.id === 'post-alter')).toBe(true));
  // Its confirmation (the client's last mutation id) comes through replication, as before.
  const w = a.mutate.item.insert({id: 'after-reset', title: 'R', votes: 0});
  expect(await w.server).toEqual({type: 'success'});
  expect(await a.mutate.item.add({id: 'after-reset-2', title: 'S'}).server).toEqual({
    type: 'success',
  });
});
