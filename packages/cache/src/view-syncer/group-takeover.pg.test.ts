// Two sync servers on one CVR database stand for two view-syncer nodes. When a client of a
// group connects to node B while node A serves the group, B takes it over: A's next CVR
// write is refused, A drops the group and closes its clients with 1012 (they reconnect at
// once, to B), and A writes nothing more. See docs/cvr.md, "Ownership".
import {afterEach, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {CVROwnershipLost} from '../cvr/cvr-ownership.ts';
import {GROUP_MOVED_CLOSE} from './group-clients.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {issues, openTop2, summarize} from '../../test/sync/poke-summary.ts';
import {TestClient} from '../../test/sync/test-client.ts';

const servers: TestServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const s of servers.splice(0)) await s.stop();
});

async function twoNodes(limits: {groupIdleMs?: number} = {}) {
  const dbUrl = await createTestDatabase('takeover');
  // Both nodes follow the same upstream: one replica object stands for both of theirs.
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: issues()}});
  const start = async (nodeID: string) => {
    const s = await startTestServer({dbUrl, replica, nodeID, limits});
    servers.push(s);
    return s;
  };
  return {replica, a: await start('node-a'), b: await start('node-b')};
}

async function connect(port: number, clientID: string, baseVersion: string | null = null) {
  const c = await TestClient.open(port);
  clients.push(c);
  c.connect({
    clientID,
    clientGroupID: 'g1',
    baseVersion,
    desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
  });
  return {c, poke: await c.poke()};
}

async function groupRow(s: TestServer) {
  const {rows} = await s.pool.query<{owner: string; owner_epoch: string; seq: string}>(
    `SELECT owner, owner_epoch, seq FROM zync_test_cvr.groups WHERE group_id = 'g1'`,
  );
  return rows[0];
}

test('node B takes a group over from node A: A closes its client with 1012 and writes no more', async () => {
  const {replica, a, b} = await twoNodes();
  const storeA = a.store;
  const flushA = vi.spyOn(storeA, 'flush');
  const releaseA = vi.spyOn(storeA, 'release');

  const c1 = await connect(a.port, 'c1');
  expect(summarize(c1.poke).puts).toEqual(['issue:2', 'issue:4']);
  // A's write of the connect's step landed.
  await expect.poll(() => groupRow(a)).toMatchObject({owner: 'node-a', owner_epoch: '1'});
  await expect.poll(() => flushA.mock.results.length).toBeGreaterThan(0);
  await Promise.all(flushA.mock.results.map(r => r.value as Promise<void>));

  // A client of the same group reaches B (the load balancer moved the group): B takes over.
  const c2 = await connect(b.port, 'c2');
  expect(summarize(c2.poke)).toMatchObject({clear: true, puts: ['issue:2', 'issue:4']});
  expect(await groupRow(b)).toMatchObject({owner: 'node-b', owner_epoch: '2'});
  const cookieA = c1.c.version;
  expect(c2.poke.version.split(':')[0]).not.toBe(cookieA?.split(':')[0]);

  // A replica change: both nodes poke their client; A's CVR write is refused.
  const calls = flushA.mock.calls.length;
  replica.put('issue', {id: 6, status: 'open', priority: 8}).commit();
  await c2.c.poke();
  expect(await c1.c.closed).toEqual(GROUP_MOVED_CLOSE);
  await expect.poll(() => flushA.mock.calls.length).toBe(calls + 1);
  await expect(flushA.mock.results.at(-1)?.value).rejects.toBeInstanceOf(CVROwnershipLost);
  await expect.poll(() => a.server.stats().clientGroups).toBe(0);
  expect(releaseA).not.toHaveBeenCalled();

  // c1 reconnects (to B now): its cookie is of A's epoch, so it gets a clean reset.
  const again = await connect(b.port, 'c1', cookieA);
  expect(again.poke.baseVersion).toBeNull();
  expect(summarize(again.poke)).toEqual({
    clear: true,
    puts: ['issue:4', 'issue:6'],
    dels: [],
    got: ['clear', 'put:A'],
  });

  // More changes: B serves both clients and writes; A never tries again.
  replica.put('issue', {id: 7, status: 'open', priority: 9}).commit();
  const [p1, p2] = await Promise.all([again.c.poke(), c2.c.poke()]);
  expect(summarize(p1)).toMatchObject({puts: ['issue:7'], dels: ['issue:4']});
  expect(p2.version).toBe(p1.version);
  const seq = Number(p1.version.split(':')[1]);
  await expect.poll(async () => Number((await groupRow(b))?.seq)).toBe(seq);
  expect(flushA.mock.calls.length).toBe(calls + 1);
  expect(await groupRow(b)).toMatchObject({owner: 'node-b', owner_epoch: '2'});

  // B's CVR holds what its clients hold: a cookie of B resumes as a delta.
  await again.c.close();
  const resumed = await connect(b.port, 'c1', p1.version);
  expect(resumed.poke.baseVersion).toBe(p1.version);
  expect(summarize(resumed.poke)).toEqual({clear: false, puts: [], dels: [], got: []});
});

test('a group A released cleanly moves to B with its epoch: A’s cookie resumes as a delta', async () => {
  const {replica, a, b} = await twoNodes({groupIdleMs: 50});
  const c1 = await connect(a.port, 'c1');
  const v1 = c1.poke.version;
  await c1.c.close();
  await expect.poll(() => a.server.stats().clientGroups).toBe(0);
  await expect
    .poll(async () => {
      const {rows} = await a.pool.query<{owned: boolean}>(`SELECT owned FROM zync_test_cvr.groups`);
      return rows;
    })
    .toEqual([{owned: false}]);
  replica.put('issue', {id: 6, status: 'open', priority: 8}).commit();
  const moved = await connect(b.port, 'c1', v1);
  expect(moved.poke.baseVersion).toBe(v1);
  expect(summarize(moved.poke)).toEqual({
    clear: false,
    puts: ['issue:6'],
    dels: ['issue:2'],
    got: [],
  });
  expect(await groupRow(b)).toMatchObject({owner: 'node-b', owner_epoch: '2'});
});
