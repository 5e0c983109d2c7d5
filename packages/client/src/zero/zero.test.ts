import type {DownstreamFrame, PokeBody} from '@zync/protocol';
import {createBuilder, createSchema, number, string, table} from '@zync/zql';
import {afterEach, describe, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import type {FakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import {startFakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import type {SocketLike} from '../connection/connection.ts';
import {memStoreProvider} from '../kv/mem-store.ts';
import {Zero} from './zero.ts';

const schema = createSchema({
  tables: [
    table('issue')
      .from('issues')
      .columns({id: string(), title: string(), rank: number().from('rank_num')})
      .primaryKey('id'),
  ],
});

type Srv = FakeZeroCache;
const fakeServer = startFakeZeroCache;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function makeZero(
  srv: Srv | null,
  kvStore: 'mem' | ReturnType<typeof memStoreProvider> = 'mem',
  createSocket = (url: string) => new WebSocket(url) as unknown as SocketLike,
) {
  const z = new Zero({
    server: srv?.server ?? null,
    userID: 'alice',
    schema,
    kvStore,
    createSocket,
  });
  cleanups.push(() => z.close());
  return z;
}

/**
 * Real sockets that count the frames the client has handled (its `onmessage` returned), so
 * that a test can look at the client's state right after given frames, without a delay.
 */
function countingSockets() {
  let handled = 0;
  const create = (url: string): SocketLike => {
    const ws = new WebSocket(url);
    const accessor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ws), 'onmessage');
    let handler: SocketLike['onmessage'] = null;
    Object.defineProperty(ws, 'onmessage', {
      configurable: true,
      get: () => handler,
      set: (h: SocketLike['onmessage']) => {
        handler = h;
        accessor?.set?.call(
          ws,
          h
            ? (ev: {data: unknown}) => {
                h(ev);
                handled++;
              }
            : null,
        );
      },
    });
    return ws as unknown as SocketLike;
  };
  return {create, handled: () => handled};
}

function poke(body: Partial<PokeBody>): DownstreamFrame {
  return [
    'poke',
    {
      pokeID: 'p',
      baseVersion: null,
      version: '01',
      rows: [],
      gotQueries: [],
      lastMutationIDChanges: {},
      ...body,
    },
  ];
}

/** A client that syncs one issue into `provider`'s store, then closes; its group's id. */
async function storeOneRow(
  srv: Awaited<ReturnType<typeof fakeServer>>,
  provider: ReturnType<typeof memStoreProvider>,
): Promise<string> {
  const z = makeZero(srv, provider);
  await vi.waitFor(() => expect(z.connection.state.current.name).toBe('connected'));
  srv.send(poke({rows: [{op: 'put', table: 'issues', value: {id: 'a', title: 'A', rank_num: 1}}]}));
  await vi.waitFor(async () => expect(await z.run(z.query.issue)).toHaveLength(1));
  const group = await z.clientGroupID;
  await z.close();
  return group;
}

describe('Zero', () => {
  test('rejects bad options with a clear TypeError', () => {
    expect(() => new Zero({userID: '', schema})).toThrow(/userID/);
    expect(() => new Zero({userID: 'a', schema, server: 'ftp://x'})).toThrow(/http/);
    expect(() => new Zero({userID: 'a', schema, server: 'http://x/a/b'})).toThrow(/one path/);
  });

  test('names its database zync/<user>/<storageKey>/<hash>', () => {
    const z = new Zero({userID: 'a@b', storageKey: 'k/1', schema, server: null, kvStore: 'mem'});
    cleanups.push(() => z.close());
    expect(z.idbName).toMatch(/^zync\/a%40b\/k%2F1\/[0-9a-f]{12}$/);
  });

  test('sends queries in server names and applies pokes to live views', async () => {
    const srv = await fakeServer();
    cleanups.push(() => srv.close());
    const z = makeZero(srv);
    const view = z.query.issue.where('rank', '>', 1).orderBy('rank', 'desc').materialize() as {
      data: unknown;
      addListener(fn: (d: unknown, rt: string) => void): () => void;
    };
    const seen: [unknown, string][] = [];
    view.addListener((d, rt) => seen.push([d, rt]));
    await vi.waitFor(() => expect(z.connection.state.current.name).toBe('connected'));
    const connect = srv.received.find(f => f[0] === 'connect');
    const put = connect?.[0] === 'connect' ? connect[1].desiredQueries[0] : undefined;
    expect(put?.op === 'put' && put.ast?.table).toBe('issues');
    expect(JSON.stringify(put)).toContain('rank_num');
    const hash = put?.op === 'put' ? put.hash : '';
    srv.send(
      poke({
        rows: [
          {op: 'put', table: 'issues', value: {id: 'a', title: 'A', rank_num: 2, extra: 1}},
          {op: 'put', table: 'issues', value: {id: 'b', title: 'B', rank_num: 5}},
          {op: 'put', table: 'issues', value: {id: 'c', title: 'C', rank_num: 0}},
        ],
        gotQueries: [{op: 'put', hash}],
      }),
    );
    await vi.waitFor(() => expect(seen.at(-1)?.[1]).toBe('complete'));
    expect(view.data).toEqual([
      {id: 'b', title: 'B', rank: 5},
      {id: 'a', title: 'A', rank: 2},
    ]);
    srv.send(
      poke({
        baseVersion: '01',
        version: '02',
        rows: [{op: 'del', table: 'issues', id: {id: 'b'}}],
      }),
    );
    await vi.waitFor(() => expect(view.data).toEqual([{id: 'a', title: 'A', rank: 2}]));
    expect(await z.run(z.query.issue)).toHaveLength(2);
  });

  test('poke parts are applied with their poke, all at once; dropped with their connection', async () => {
    const srv = await fakeServer();
    cleanups.push(() => srv.close());
    const sockets = countingSockets();
    const z = makeZero(srv, 'mem', sockets.create);
    const view = z.query.issue.materialize() as {
      data: unknown;
      addListener(fn: (d: unknown) => void): () => void;
    };
    const seen: unknown[] = [];
    view.addListener(d => seen.push(d));
    await vi.waitFor(() => expect(z.connection.state.current.name).toBe('connected'));
    const row = (id: string) => ({
      op: 'put' as const,
      table: 'issues',
      value: {id, title: id, rank_num: 1},
    });
    const updates = seen.length;
    const handled = sockets.handled();
    srv.send(['pokePart', {pokeID: 'p1', rows: [{op: 'clear'}, row('a')]}]);
    srv.send(['pokePart', {pokeID: 'p1', rows: [row('b')]}]);
    srv.send(['pong', {}]);
    // Parts alone change nothing.
    await vi.waitFor(() => expect(sockets.handled()).toBe(handled + 3));
    expect(await z.run(z.query.issue)).toEqual([]);
    expect(seen.length).toBe(updates);
    srv.send(poke({pokeID: 'p1', rows: [row('c')]}));
    await vi.waitFor(() => expect(view.data).toHaveLength(3));
    // One view update for parts and poke together.
    expect(seen.length).toBe(updates + 1);

    // A part whose poke never comes (the connection closed) is forgotten. The client closes
    // it on an error frame that follows the part, so the part is surely received first.
    const connects = () => srv.received.filter(f => f[0] === 'connect').length;
    const before = connects();
    srv.send(['pokePart', {pokeID: 'p2', rows: [row('d')]}]);
    srv.send(['error', {kind: 'ServerOverloaded', message: 'try again'}]);
    await vi.waitFor(() => expect(connects()).toBe(before + 1), {timeout: 5000});
    await vi.waitFor(() => expect(z.connection.state.current.name).toBe('connected'));
    srv.send(poke({pokeID: 'p2', baseVersion: '01', version: '02', rows: [row('e')]}));
    await vi.waitFor(() => expect(view.data).toHaveLength(4));
    expect((view.data as {id: string}[]).map(r => r.id)).toEqual(['a', 'b', 'c', 'e']);

    // A poke that does not match the parts before it: nothing is applied, it reconnects
    // from nothing.
    srv.send(['pokePart', {pokeID: 'p3', rows: [row('f')]}]);
    const n = connects();
    srv.send(poke({pokeID: 'p4', baseVersion: '02', version: '03', rows: [row('g')]}));
    await vi.waitFor(() => expect(connects()).toBe(n + 1), {timeout: 5000});
    const last = srv.received.filter(f => f[0] === 'connect').at(-1);
    expect(last?.[0] === 'connect' && last[1].baseVersion).toBeNull();
    expect(view.data).toHaveLength(4);
  });

  test('reopened offline, the data is there; it reconnects from its stored version', async () => {
    const provider = memStoreProvider();
    const srv = await fakeServer();
    cleanups.push(() => srv.close());
    const group = await storeOneRow(srv, provider);
    await srv.close();

    // zero-cache is down: the data still shows from the local store.
    const z2 = makeZero(srv, provider);
    expect(await z2.clientGroupID).toBe(group);
    expect(await z2.run(z2.query.issue)).toEqual([{id: 'a', title: 'A', rank: 1}]);
    expect(z2.connection.state.current.name).not.toBe('connected');
    await z2.close();

    const srv2 = await fakeServer(Number(new URL(srv.server).port));
    cleanups.push(() => srv2.close());
    const z3 = makeZero(srv2, provider);
    await vi.waitFor(() => expect(z3.connection.state.current.name).toBe('connected'));
    const connects = srv2.received.filter(f => f[0] === 'connect');
    const last = connects.at(-1);
    expect(last?.[0] === 'connect' && last[1].baseVersion).toBe('01');
  });

  test("a new client's socket opens once the store has told its group, and names it in the URL", async () => {
    const provider = memStoreProvider();
    const srv = await fakeServer();
    cleanups.push(() => srv.close());
    const group = await storeOneRow(srv, provider);

    // A store whose reads wait until the test lets them go.
    let release!: () => void;
    const gate = new Promise<void>(r => (release = r));
    const slow = {
      create: (name: string) => {
        const store = provider.create(name);
        return {
          read: async () => {
            await gate;
            return store.read();
          },
          write: () => store.write(),
          close: () => store.close(),
          get closed() {
            return store.closed;
          },
        };
      },
      drop: (name: string) => provider.drop(name),
    };
    const urls: string[] = [];
    const sent: string[] = [];
    const z2 = new Zero({
      server: srv.server,
      userID: 'alice',
      schema,
      kvStore: slow,
      createSocket: url => {
        urls.push(url);
        const ws = new WebSocket(url);
        const send = ws.send.bind(ws);
        Object.assign(ws, {send: (data: string) => (sent.push(data), send(data))});
        return ws as unknown as SocketLike;
      },
    });
    cleanups.push(() => z2.close());
    // A load balancer (or zero-cache's dispatcher) routes the socket by the group in its URL:
    // the first socket already names it, so it is not opened before the store is read.
    release();
    await vi.waitFor(() => expect(z2.connection.state.current.name).toBe('connected'));
    expect(urls.length).toBe(1);
    expect(new URL(urls[0]!).searchParams.get('clientGroupID')).toBe(group);
    const first = JSON.parse(sent[0]!) as [string, {clientGroupID: string; baseVersion: string}];
    expect(first[0]).toBe('connect');
    expect(first[1].clientGroupID).toBe(group);
    expect(first[1].baseVersion).toBe('01');
  });

  test('delete() drops its own database only', async () => {
    const provider = memStoreProvider();
    const a = new Zero({userID: 'a', schema, server: null, kvStore: provider});
    const b = new Zero({userID: 'b', schema, server: null, kvStore: provider});
    cleanups.push(() => b.close());
    await a.clientGroupID;
    await b.clientGroupID;
    const res = await a.delete();
    expect(res).toEqual({deleted: [a.idbName], errors: []});
    expect(a.connection.state.current.name).toBe('closed');
    expect(b.closed).toBe(false);
  });

  test('queries from a shared createBuilder run through the instance', async () => {
    const srv = await fakeServer();
    cleanups.push(() => srv.close());
    const z = makeZero(srv);
    const builder = createBuilder(schema);
    const view = z.materialize(builder.issue.orderBy('rank', 'asc'));
    await vi.waitFor(() => expect(z.connection.state.current.name).toBe('connected'));
    srv.send(
      poke({rows: [{op: 'put', table: 'issues', value: {id: 'a', title: 'A', rank_num: 1}}]}),
    );
    await vi.waitFor(() => expect(view.data).toEqual([{id: 'a', title: 'A', rank: 1}]));
    expect(await z.run(builder.issue.where('id', 'a').one())).toEqual({
      id: 'a',
      title: 'A',
      rank: 1,
    });
    view.destroy();
  });
});
