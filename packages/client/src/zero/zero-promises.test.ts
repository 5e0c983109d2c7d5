// Promises the client API makes: `run(q, {type: 'complete'})` settles whatever the order of
// events, a query error can be retried, and the server's final errors reach the app.
import type {QueryPatchOp} from '@zync/protocol';
import {createBuilder, createSchema, number, string, syncedQuery, table} from '@zync/zql';
import {afterEach, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import type {FakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import {pokeFrame, startFakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import type {SocketLike} from '../connection/connection.ts';
import {Zero} from './zero.ts';

const schema = createSchema({
  tables: [table('issue').columns({id: string(), rank: number()}).primaryKey('id')],
});
const b = createBuilder(schema);
const byRank = syncedQuery(
  'byRank',
  (args: unknown[]): [number] => {
    if (typeof args[0] !== 'number') throw new TypeError('rank must be a number');
    return [args[0]];
  },
  (rank: number) => b.issue.where('rank', rank),
);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(extra: Partial<ConstructorParameters<typeof Zero>[0]> = {}) {
  const srv = await startFakeZeroCache();
  cleanups.push(() => srv.close());
  const z = new Zero({
    server: srv.server,
    userID: 'alice',
    schema,
    kvStore: 'mem',
    createSocket: url => new WebSocket(url) as unknown as SocketLike,
    ...extra,
  });
  cleanups.push(() => z.close());
  await vi.waitFor(() => expect(z.connection.state.current.name).toBe('connected'));
  return {srv, z};
}

/** The query ops the client sent after its `connect` frame. */
function patches(srv: FakeZeroCache): QueryPatchOp[] {
  return srv.received.flatMap(f => (f[0] === 'changeDesiredQueries' ? f[1].patch : []));
}

test('run(complete) rejects with the query error already known for a synced query', async () => {
  const {srv, z} = await setup();
  const view = z.materialize(byRank(1));
  await vi.waitFor(() => expect(patches(srv).some(p => p.op === 'put')).toBe(true));
  const hash = srv.queryHashes()[0]!;
  srv.send(
    pokeFrame({
      queryErrors: [{hash, kind: 'unknown-query', message: 'byRank is not defined here'}],
    }),
  );
  await vi.waitFor(() => expect(view.resultType).toBe('error'));
  // The view holds the error, so run's listener fires while it is being added.
  await expect(z.run(byRank(1), {type: 'complete'})).rejects.toThrow('byRank is not defined here');
  view.destroy();
});

test('a second run(complete) of a query already complete resolves with its rows', async () => {
  const {srv, z} = await setup();
  const first = z.run(b.issue.where('rank', 2), {type: 'complete'});
  await vi.waitFor(() => expect(srv.queryHashes()).toHaveLength(1));
  srv.send(
    pokeFrame({
      rows: [{op: 'put', table: 'issue', value: {id: 'a', rank: 2}}],
      gotQueries: [{op: 'put', hash: srv.queryHashes()[0]!}],
    }),
  );
  expect(await first).toEqual([{id: 'a', rank: 2}]);
  expect(await z.run(b.issue.where('rank', 2), {type: 'complete'})).toEqual([{id: 'a', rank: 2}]);
});

test('retry() on a failed query sends it again and the result follows the new answer', async () => {
  const {srv, z} = await setup();
  const view = z.materialize(byRank(3));
  const seen: string[] = [];
  view.addListener((_d, rt) => seen.push(rt));
  await vi.waitFor(() => expect(srv.queryHashes()).toHaveLength(1));
  const hash = srv.queryHashes()[0]!;
  srv.send(
    pokeFrame({queryErrors: [{hash, kind: 'transform-failed', message: 'API server down'}]}),
  );
  await vi.waitFor(() => expect(view.resultType).toBe('error'));
  (view as unknown as {retry(): void}).retry();
  expect(view.resultType).toBe('unknown');
  // The query is asked for again, in the same shape.
  await vi.waitFor(() => expect(srv.queryHashes()).toEqual([hash, hash]));
  const puts = patches(srv).filter(p => p.op === 'put');
  expect(puts.at(-1)).toMatchObject({name: 'byRank', args: [3]});
  srv.send(
    pokeFrame({
      version: '02',
      baseVersion: '01',
      rows: [{op: 'put', table: 'issue', value: {id: 'x', rank: 3}}],
      gotQueries: [{op: 'put', hash}],
    }),
  );
  await vi.waitFor(() => expect(view.resultType).toBe('complete'));
  expect(view.data).toEqual([{id: 'x', rank: 3}]);
  expect(seen.filter((rt, i) => rt !== seen[i - 1])).toEqual([
    'unknown',
    'error',
    'unknown',
    'complete',
  ]);
  view.destroy();
});

test('VersionNotSupported calls onUpdateNeeded with the reason and stops reconnecting', async () => {
  const reasons: unknown[] = [];
  const {srv, z} = await setup({onUpdateNeeded: r => reasons.push(r)});
  srv.send(['error', {kind: 'VersionNotSupported', message: 'this server speaks 9'}]);
  await vi.waitFor(() => expect(z.connection.state.current.name).toBe('error'));
  expect(reasons).toEqual([{type: 'VersionNotSupported', message: 'this server speaks 9'}]);
  // 'error' is final: the connection schedules no retry from it (only connect() leaves it).
  expect(srv.received.filter(f => f[0] === 'connect')).toHaveLength(1);
  expect(z.connection.state.current.name).toBe('error');
});

test('ClientNotFound drops the synced state, calls onClientStateNotFound and syncs from nothing', async () => {
  let notFound = 0;
  const {srv, z} = await setup({onClientStateNotFound: () => notFound++});
  const view = z.materialize(b.issue);
  await vi.waitFor(() => expect(srv.queryHashes()).toHaveLength(1));
  const hash = srv.queryHashes()[0]!;
  srv.send(
    pokeFrame({
      version: 'e1:5',
      rows: [{op: 'put', table: 'issue', value: {id: 'old', rank: 1}}],
      gotQueries: [{op: 'put', hash}],
    }),
  );
  await vi.waitFor(() => expect(view.resultType).toBe('complete'));
  // A write that has not reached the server yet must survive the reset.
  void z.mutate.issue.insert({id: 'mine', rank: 2});
  await vi.waitFor(() => expect(view.data).toHaveLength(2));
  srv.send(['error', {kind: 'ClientNotFound', message: 'no state for this group'}]);
  await vi.waitFor(() => expect(notFound).toBe(1));
  await vi.waitFor(() => expect(view.data).toEqual([{id: 'mine', rank: 2}]));
  expect(view.resultType).toBe('unknown');
  // It reconnects by itself, from nothing, and pushes its pending write again.
  await vi.waitFor(() => expect(srv.received.filter(f => f[0] === 'connect')).toHaveLength(2));
  const connects = srv.received.filter(f => f[0] === 'connect');
  const second = connects[1]!;
  expect(second[0] === 'connect' && second[1].baseVersion).toBeNull();
  await vi.waitFor(() =>
    expect(srv.received.filter(f => f[0] === 'push').length).toBeGreaterThanOrEqual(2),
  );
  view.destroy();
});
