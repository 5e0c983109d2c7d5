import type {DownstreamFrame, Mutation} from '@zync/protocol';
import {createSchema, number, string, table} from '@zync/zql';
import {afterEach, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import type {FakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import {pokeFrame, startFakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import type {SocketLike} from '../connection/connection.ts';
import {memStoreProvider} from '../kv/mem-store.ts';
import type {StoreProvider} from '../kv/store.ts';
import {Zero} from './zero.ts';

const schema = createSchema({
  tables: [
    table('issue')
      .from('issues')
      .columns({id: string(), title: string(), votes: number().from('vote_count')})
      .primaryKey('id'),
  ],
});

type Tx = {
  mutate: {issue: {insert(v: object): Promise<void>; update(v: object): Promise<void>}};
  location: string;
};
const mutators = {
  issue: {
    vote: async (tx: Tx, {id}: {id: string}) => {
      // The client guesses +1; the server implementation may differ.
      await tx.mutate.issue.update({id, votes: 100});
    },
    create: async (tx: Tx, {id, title}: {id: string; title: string}) => {
      await tx.mutate.issue.insert({id, title: `${title} (${tx.location})`, votes: 0});
    },
  },
};

const createSocket = (url: string) => new WebSocket(url) as unknown as SocketLike;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(provider: StoreProvider = memStoreProvider(), srv?: FakeZeroCache) {
  const s = srv ?? (await startFakeZeroCache());
  if (!srv) cleanups.push(() => s.close());
  const zero = new Zero({
    server: s.server,
    userID: 'u',
    schema,
    kvStore: provider,
    mutators,
    createSocket,
  });
  cleanups.push(() => zero.close());
  await vi.waitFor(() => expect(zero.online).toBe(true));
  return {srv: s, zero, provider};
}

/** What zero-cache sends after every push: here after the poke, as can happen under load. */
function okResponse(clientID: string, id: number): DownstreamFrame {
  return ['pushResponse', {mutations: [{clientID, id, result: {type: 'ok'}}]}];
}

function pushes(srv: FakeZeroCache): Mutation[] {
  return srv.received.flatMap(f => (f[0] === 'push' ? f[1].mutations : []));
}

test('a CRUD insert shows at once, is pushed in server names, and is confirmed without flicker', async () => {
  const {srv, zero} = await setup();
  const view = zero.query.issue.materialize() as {
    data: unknown;
    addListener(fn: (d: unknown) => void): () => void;
  };
  const seen: unknown[] = [];
  view.addListener(d => seen.push(d));
  const r = zero.mutate.issue.insert({id: 'a', title: 'A', votes: 1});
  await r.client;
  expect(view.data).toEqual([{id: 'a', title: 'A', votes: 1}]);
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  const m = pushes(srv)[0]!;
  expect(m).toMatchObject({type: 'crud', id: 1, clientID: zero.clientID, name: '_zero_crud'});
  expect(m.args).toEqual([
    {ops: [{op: 'insert', table: 'issues', value: {id: 'a', title: 'A', vote_count: 1}}]},
  ]);
  srv.send(
    pokeFrame({
      rows: [{op: 'put', table: 'issues', value: {id: 'a', title: 'A', vote_count: 1}}],
      lastMutationIDChanges: {[zero.clientID]: 1},
    }),
  );
  srv.send(okResponse(zero.clientID, 1));
  expect(await r.server).toEqual({type: 'success'});
  expect(view.data).toEqual([{id: 'a', title: 'A', votes: 1}]);
  // Every state the view showed had the row: no flicker during the rebase.
  expect(seen.slice(1).every(d => Array.isArray(d) && d.length === 1)).toBe(true);
});

test('a custom mutator runs on the client; after the rebase the server result wins', async () => {
  const {srv, zero} = await setup();
  srv.send(
    pokeFrame({rows: [{op: 'put', table: 'issues', value: {id: 'a', title: 'A', vote_count: 1}}]}),
  );
  await vi.waitFor(async () => expect(await zero.run(zero.query.issue)).toHaveLength(1));
  const r = zero.mutate.issue.vote({id: 'a'});
  await r.client;
  expect(await zero.run(zero.query.issue.one())).toMatchObject({votes: 100});
  await vi.waitFor(() => expect(pushes(srv)[0]?.name).toBe('issue.vote'));
  expect(pushes(srv)[0]?.args).toEqual([{id: 'a'}]);
  // The server's implementation added 2, not 99.
  srv.send(
    pokeFrame({
      baseVersion: '01',
      version: '02',
      rows: [{op: 'put', table: 'issues', value: {id: 'a', title: 'A', vote_count: 3}}],
      lastMutationIDChanges: {[zero.clientID]: 1},
    }),
  );
  srv.send(okResponse(zero.clientID, 1));
  expect(await r.server).toEqual({type: 'success'});
  expect(await zero.run(zero.query.issue.one())).toMatchObject({votes: 3});
});

test('pending mutations are replayed over a poke that does not confirm them', async () => {
  const {srv, zero} = await setup();
  await zero.mutate.issue.create({id: 'n', title: 'New'}).client;
  srv.send(
    pokeFrame({rows: [{op: 'put', table: 'issues', value: {id: 'x', title: 'X', vote_count: 0}}]}),
  );
  await vi.waitFor(async () => expect(await zero.run(zero.query.issue)).toHaveLength(2));
  expect(await zero.run(zero.query.issue.where('id', 'n').one())).toMatchObject({
    title: 'New (client)',
  });
});

test('an error outcome reaches the server promise and the optimistic row goes away', async () => {
  const {srv, zero} = await setup();
  const r = zero.mutate.issue.insert({id: 'bad', title: 'B', votes: 0});
  await r.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  srv.send([
    'pushResponse',
    {
      mutations: [
        {
          clientID: zero.clientID,
          id: 1,
          result: {type: 'error', error: 'zero', message: 'Permission denied'},
        },
      ],
    },
  ]);
  srv.send(pokeFrame({lastMutationIDChanges: {[zero.clientID]: 1}}));
  expect(await r.server).toEqual({
    type: 'error',
    error: {type: 'zero', message: 'Permission denied'},
  });
  expect(await zero.run(zero.query.issue)).toEqual([]);
});

test('an error outcome that arrives after the poke confirming the mutation still reaches the server promise', async () => {
  // The poke comes through replication, the response from the API server: under load the
  // poke can win. The refused mutation advanced the last mutation ID all the same.
  const {srv, zero} = await setup();
  const r = zero.mutate.issue.insert({id: 'bad', title: 'B', votes: 0});
  await r.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  srv.send(pokeFrame({lastMutationIDChanges: {[zero.clientID]: 1}}));
  await vi.waitFor(async () => expect(await zero.run(zero.query.issue)).toEqual([]));
  // The poke has been applied: the server promise is still pending (a settled promise's
  // callback would run before the next turn of the event loop).
  const state = await Promise.race([
    r.server.then(() => 'settled'),
    new Promise(resolve => setImmediate(() => resolve('pending'))),
  ]);
  expect(state).toBe('pending');
  srv.send([
    'pushResponse',
    {
      mutations: [
        {
          clientID: zero.clientID,
          id: 1,
          result: {type: 'error', error: 'app', message: 'Only the owner'},
        },
      ],
    },
  ]);
  expect(await r.server).toEqual({type: 'error', error: {type: 'app', message: 'Only the owner'}});
});

test('an applied mutation whose response is lost with the connection counts as a success', async () => {
  const {srv, zero} = await setup();
  const r = zero.mutate.issue.insert({id: 'a', title: 'A', votes: 0});
  await r.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  srv.send(pokeFrame({lastMutationIDChanges: {[zero.clientID]: 1}}));
  await vi.waitFor(async () => expect(await zero.run(zero.query.issue)).toEqual([]));
  await zero.close();
  expect(await r.server).toEqual({type: 'success'});
});

test('alreadyProcessed keeps the outcome already known for the id, else counts as success', async () => {
  const {srv, zero} = await setup();
  const bad = zero.mutate.issue.insert({id: 'bad', title: 'B', votes: 0});
  const good = zero.mutate.issue.insert({id: 'good', title: 'G', votes: 0});
  await good.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(2));
  // The first answer reaches the client for id 1 only; then the connection is lost before
  // the poke that confirms both.
  srv.send([
    'pushResponse',
    {
      mutations: [
        {clientID: zero.clientID, id: 1, result: {type: 'error', error: 'app', message: 'Taken'}},
      ],
    },
  ]);
  // A poke after it, as a marker that the client has read the answer.
  srv.send(
    pokeFrame({rows: [{op: 'put', table: 'issues', value: {id: 'm', title: 'M', vote_count: 0}}]}),
  );
  await vi.waitFor(async () =>
    expect((await zero.run(zero.query.issue)).map(r => r.id)).toContain('m'),
  );
  srv.dropConnections();
  // Both are pushed again on the new connection; the server had processed them already.
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(4));
  srv.send([
    'pushResponse',
    {
      mutations: [1, 2].map(id => ({
        clientID: zero.clientID,
        id,
        result: {type: 'alreadyProcessed' as const},
      })),
    },
  ]);
  srv.send(pokeFrame({version: '02', lastMutationIDChanges: {[zero.clientID]: 2}}));
  expect(await bad.server).toEqual({type: 'error', error: {type: 'app', message: 'Taken'}});
  expect(await good.server).toEqual({type: 'success'});
});

test('pending mutations survive a reload and are pushed by the next instance', async () => {
  const provider = memStoreProvider();
  const srv = await startFakeZeroCache();
  cleanups.push(() => srv.close());
  const z1 = new Zero({
    server: srv.server,
    userID: 'u',
    schema,
    kvStore: provider,
    mutators,
    createSocket,
  });
  await z1.mutate.issue.insert({id: 'p', title: 'P', votes: 0}).client;
  const firstClient = z1.clientID;
  await z1.close();
  const before = pushes(srv).length;
  const {zero: z2} = await setup(provider, srv);
  expect(await z2.run(z2.query.issue)).toEqual([{id: 'p', title: 'P', votes: 0}]);
  await vi.waitFor(() => expect(pushes(srv).length).toBeGreaterThan(before));
  const last = pushes(srv).at(-1)!;
  expect(last).toMatchObject({clientID: firstClient, id: 1});
});

test('a custom namespace may not reuse CRUD names of a table', () => {
  expect(
    () =>
      new Zero({
        server: null,
        userID: 'u',
        schema,
        kvStore: 'mem',
        mutators: {issue: {insert: async () => {}}},
      }),
  ).toThrow(/clashes/);
});

test('mutations started together go in one push frame; each outcome reaches its own promise', async () => {
  const {srv, zero} = await setup();
  const rs = Array.from({length: 20}, (_, i) =>
    zero.mutate.issue.insert({id: `i${i}`, title: 'T', votes: i}),
  );
  await Promise.all(rs.map(r => r.client));
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(20));
  const frames = srv.received.filter(f => f[0] === 'push');
  expect(frames).toHaveLength(1);
  expect(pushes(srv).map(m => m.id)).toEqual(Array.from({length: 20}, (_, i) => i + 1));
  // Answers in reverse order, one of them an error, half before the confirming poke.
  const outcome = (id: number) => ({
    clientID: zero.clientID,
    id,
    result:
      id === 7
        ? {type: 'error' as const, error: 'zero' as const, message: 'no'}
        : {type: 'ok' as const},
  });
  srv.send(['pushResponse', {mutations: [20, 19, 18, 17, 16, 15, 14, 13, 12, 11].map(outcome)}]);
  srv.send(pokeFrame({lastMutationIDChanges: {[zero.clientID]: 20}}));
  srv.send(['pushResponse', {mutations: [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(outcome)}]);
  const results = await Promise.all(rs.map(r => r.server));
  expect(results.map((r, i) => [i + 1, r.type])).toEqual(
    Array.from({length: 20}, (_, i) => [i + 1, i + 1 === 7 ? 'error' : 'success']),
  );
  // A later mutation goes in a frame of its own, with only itself.
  const late = zero.mutate.issue.insert({id: 'late', title: 'L', votes: 0});
  await late.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(21));
  expect(srv.received.filter(f => f[0] === 'push').at(-1)?.[1]).toMatchObject({
    mutations: [{id: 21}],
  });
});

test('a mutation made before the store is read is pushed once and settles with its response', async () => {
  const {srv, zero: first, provider} = await setup();
  await first.close();
  const zero = new Zero({
    server: srv.server,
    userID: 'u',
    schema,
    kvStore: provider,
    mutators,
    createSocket,
  });
  cleanups.push(() => zero.close());
  const r = zero.mutate.issue.insert({id: 'early', title: 'E', votes: 0});
  await r.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  // A frame the client sends now reaches the server after any push it sent before.
  const queries = srv.queryHashes().length;
  zero.query.issue.materialize();
  await vi.waitFor(() => expect(srv.queryHashes().length).toBeGreaterThan(queries));
  expect(pushes(srv).map(m => m.id)).toEqual([1]);
  srv.send(okResponse(zero.clientID, 1));
  srv.send(pokeFrame({lastMutationIDChanges: {[zero.clientID]: 1}}));
  expect(await r.server).toEqual({type: 'success'});
  expect(pushes(srv).map(m => m.id)).toEqual([1]);
});
