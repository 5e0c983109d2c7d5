// Regressions found by the Chromium and SQLite tests: a query materialized between the
// `connect` frame and the server's `connected` reply was never sent; a dropped database
// closed the instance without saying why; `run` right after construction answered from the
// still-empty memory instead of the local store.
import type {UpstreamFrame} from '@zync/protocol';
import {decodeUpstream, encodeFrame, SYNC_PATH} from '@zync/protocol';
import {createSchema, number, string, table} from '@zync/zql';
import {afterEach, expect, test, vi} from 'vitest';
import type {WebSocket} from 'ws';
import {WebSocket as WS, WebSocketServer} from 'ws';
import type {SocketLike} from '../connection/connection.ts';
import {memStoreProvider} from '../kv/mem-store.ts';
import {dropDatabase} from '../storage/drop.ts';
import {Zero} from './zero.ts';

const schema = createSchema({
  tables: [table('issue').columns({id: string(), rank: number()}).primaryKey('id')],
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server that answers `connect` only when told to. */
async function slowServer() {
  const wss = new WebSocketServer({host: '127.0.0.1', port: 0, path: SYNC_PATH});
  await new Promise<void>(r => wss.once('listening', r));
  const received: UpstreamFrame[] = [];
  let socket: WebSocket | undefined;
  wss.on('connection', ws => {
    socket = ws;
    ws.on('message', data => received.push(decodeUpstream((data as Buffer).toString())));
  });
  cleanups.push(() => {
    socket?.terminate();
    return new Promise<void>(r => wss.close(() => r()));
  });
  return {
    server: `http://127.0.0.1:${(wss.address() as {port: number}).port}`,
    received,
    connected: () => socket?.send(encodeFrame(['connected', {wsid: 'w', tokenExpiresAt: null}])),
  };
}

function zero(server: string, kvStore: 'mem' | ReturnType<typeof memStoreProvider> = 'mem') {
  const z = new Zero({
    server,
    userID: 'alice',
    schema,
    kvStore,
    createSocket: url => new WS(url) as unknown as SocketLike,
  });
  cleanups.push(() => z.close());
  return z;
}

test('queries added and removed while the connect is in flight are sent once connected', async () => {
  const srv = await slowServer();
  const z = zero(srv.server);
  const kept = z.query.issue.orderBy('id', 'asc');
  const dropped = z.query.issue.where('rank', '>', 1);
  const early = z.materialize(dropped) as {destroy(): void};
  await vi.waitFor(() => expect(srv.received.map(f => f[0])).toContain('connect'));
  const connect = srv.received.find(f => f[0] === 'connect')!;
  expect((connect[1] as {desiredQueries: unknown[]}).desiredQueries).toHaveLength(1);

  z.materialize(kept);
  early.destroy();
  srv.connected();
  await vi.waitFor(() =>
    expect(srv.received.filter(f => f[0] === 'changeDesiredQueries')).toHaveLength(1),
  );
  const patch = (
    srv.received.find(f => f[0] === 'changeDesiredQueries')![1] as {
      patch: {op: string; hash: string}[];
    }
  ).patch;
  expect(patch.map(p => p.op).sort()).toEqual(['del', 'put']);
  expect(patch.find(p => p.op === 'del')?.hash).toBe(
    (connect[1] as {desiredQueries: {hash: string}[]}).desiredQueries[0]!.hash,
  );
});

test('a dropped database closes the instance with the reason', async () => {
  const srv = await slowServer();
  const provider = memStoreProvider();
  const z = zero(srv.server, provider);
  await z.clientGroupID;
  await dropDatabase(z.idbName, {kvStore: provider});
  await vi.waitFor(() => expect(z.connection.state.current.name).toBe('closed'));
  expect(z.connection.state.current.reason).toMatch(/dropped/);
});

test('run right after construction answers from the local store', async () => {
  const provider = memStoreProvider();
  const a = new Zero({server: null, userID: 'alice', schema, kvStore: provider});
  await a.mutate.issue.insert({id: 'x', rank: 1}).client;
  await a.close();
  const b = new Zero({server: null, userID: 'alice', schema, kvStore: provider});
  cleanups.push(() => b.close());
  expect(await b.run(b.query.issue)).toEqual([{id: 'x', rank: 1}]);
});
