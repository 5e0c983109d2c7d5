// zero-cache on several nodes, end to end: one replication-manager and two view-syncers (real
// processes; one of them with sync worker processes), HAProxy in front, real Zero clients of
// several client groups. A write upstream reaches clients on every view-syncer; a group lives
// on one node; a view-syncer killed moves its groups to the other with no mutation lost or
// applied twice; a killed manager leaves the view-syncers serving reads, and they catch up
// once it is back.
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {refusedUpgrade, startCluster, type Cluster, type ClusterNode} from '../cluster.ts';
import {
  byNode,
  createEntryTable,
  entriesView,
  LONG,
  newEntryZero,
  printFigures,
  upstreamEntries,
  type EntryView,
  type EntryZero,
} from '../entry-table.ts';
import {createTestDatabase} from '../pg.ts';

type Group = {
  readonly id: string;
  readonly clients: readonly EntryZero[];
  readonly views: EntryView[];
};

let db: pg.Client;
let cluster: Cluster;
const zeros: EntryZero[] = [];
const groups: Group[] = [];
/** Figures measured along the way, printed at the end. */
const figures: Record<string, number> = {};

beforeAll(async () => {
  const url = await createTestDatabase('cluster');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await createEntryTable(db, {seed: true});
  const t0 = performance.now();
  // vs0 is one process; vs1 a dispatcher, its change follower and two sync workers.
  cluster = await startCluster({
    upstreamUrl: url,
    viewSyncers: 2,
    viewSyncerEnvs: [{}, {ZERO_NUM_SYNC_WORKERS: '2'}],
  });
  figures['cluster start (manager, 2 view-syncers, haproxy), ms'] = performance.now() - t0;
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await cluster?.stop();
  await db?.end();
  printFigures('cluster figures', figures);
});

let users = 0;

/** Two clients of one group (one user, one process), each with a live query of every entry. */
async function openGroup(): Promise<Group> {
  const userID = `u${users++}`;
  const clients = [0, 1].map(() => {
    const z = newEntryZero(cluster.url, userID);
    zeros.push(z);
    return z;
  });
  const ids = await Promise.all(clients.map(z => z.clientGroupID));
  expect(ids[1]).toBe(ids[0]);
  const views = clients.map(entriesView);
  for (const v of views) await vi.waitFor(() => expect(v.resultType).toBe('complete'), LONG);
  const group = {id: ids[0]!, clients, views};
  groups.push(group);
  return group;
}

/** Every view of every group shows the row `id`. */
async function everyoneSees(id: string, among: readonly Group[] = groups) {
  for (const g of among) {
    for (const v of g.views) {
      await vi.waitFor(() => expect(v.data.some(r => r.id === id)).toBe(true), LONG);
    }
  }
}

function groupsByNode(): Promise<Map<ClusterNode, Group[]>> {
  return byNode(cluster, groups, g => g.id);
}

test('the manager serves no sync clients: health answers, upgrades get 421, snapshots need the secret', async () => {
  const port = cluster.manager.port;
  expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
  const upgrade = await refusedUpgrade(port);
  expect(upgrade.status).toBe(421);
  expect(upgrade.body).toMatch(/replication-manager and serves no sync clients/);
  const snapshotUrl = `http://127.0.0.1:${cluster.manager.changeStreamerPort}/replica-snapshot`;
  expect((await fetch(snapshotUrl)).status).toBe(401);
  expect((await fetch(snapshotUrl, {headers: {authorization: 'Bearer wrong'}})).status).toBe(401);
});

test('clients of several groups through HAProxy: each group on one view-syncer, an upstream write reaches every node', async () => {
  // Groups until both view-syncers hold some (HAProxy hashes clientGroupID).
  for (let i = 0; i < 32; i++) {
    await openGroup();
    if (i >= 3 && (await groupsByNode()).size === 2) break;
  }
  const byNode = await groupsByNode();
  expect([...byNode.keys()].map(n => n.name).sort()).toEqual(['vs0', 'vs1']);
  // A group is in memory on one node only: both its clients landed there.
  for (const [node, gs] of byNode) {
    const other = cluster.viewSyncers.find(n => n !== node)!;
    for (const g of gs) expect(await other.holds(g.id)).toBe(false);
  }
  for (const g of groups) for (const v of g.views) expect(v.data.map(r => r.id)).toContain('seed');
  const t0 = performance.now();
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('upstream-1', 'upstream', 1)`);
  await everyoneSees('upstream-1');
  figures['upstream write to every client on 2 view-syncers, ms'] = performance.now() - t0;
});

test('a view-syncer killed: its groups reconnect through HAProxy to the other, no mutation lost or applied twice', async () => {
  const byNode = await groupsByNode();
  const victim = cluster.viewSyncers[0]!;
  const survivor = cluster.viewSyncers[1]!;
  const moved = byNode.get(victim) ?? [];
  expect(moved.length).toBeGreaterThan(0);
  const writers = moved.flatMap(g => g.clients);
  const results: Promise<unknown>[] = [];
  const PER_CLIENT = 10;
  const write = (i: number) =>
    writers.forEach((z, c) =>
      results.push(
        z.mutate.entry.upsert({id: `m${c}-${i}`, client: `c${c}`, n: i, applied: 0}).server,
      ),
    );
  for (let i = 0; i < PER_CLIENT / 2; i++) write(i);
  const killedAt = performance.now();
  await victim.kill();
  for (let i = PER_CLIENT / 2; i < PER_CLIENT; i++) write(i);

  for (const r of await Promise.all(results)) expect(r).toEqual({type: 'success'});
  const rows = (await upstreamEntries(db)).filter(r => r.id.startsWith('m'));
  expect(rows.length).toBe(writers.length * PER_CLIENT);
  expect(rows.filter(r => r.applied !== 1)).toEqual([]);
  // Every moved client sees every row it and the others wrote, now served by the survivor.
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('after-failover', 'upstream', 2)`);
  await everyoneSees('after-failover', moved);
  figures['view-syncer SIGKILL to its clients served by the other node, ms'] =
    performance.now() - killedAt;
  for (const g of moved) {
    expect(await survivor.holds(g.id)).toBe(true);
    for (const v of g.views) {
      expect(v.data.filter(r => r.id.startsWith('m')).length).toBe(writers.length * PER_CLIENT);
    }
  }
  // The killed node comes back from its own replica and rejoins HAProxy.
  figures['view-syncer restart from its replica to serving, ms'] = await victim.start();
  await cluster.waitForStates({vs0: 'UP', vs1: 'UP'});
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('after-rejoin', 'upstream', 3)`);
  await everyoneSees('after-rejoin');
}, 120_000);

test('a third view-syncer joins from a snapshot and serves new groups', async () => {
  const t0 = performance.now();
  const vs2 = await cluster.addViewSyncer();
  figures['new view-syncer: start to serving (snapshot download included), ms'] =
    performance.now() - t0;
  // Groups until one lands on the new node.
  let g: Group | undefined;
  for (let i = 0; i < 32 && !g; i++) {
    const next = await openGroup();
    if (await vs2.holds(next.id)) g = next;
  }
  expect(g).toBeDefined();
  await everyoneSees('after-rejoin', [g!]);
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('on-three', 'upstream', 4)`);
  await everyoneSees('on-three');
});

test('a view-syncer stopped (SIGTERM): its clients reconnect at once to the others, no mutation lost or applied twice', async () => {
  const node = cluster.viewSyncers[1]!;
  const moved = (await groupsByNode()).get(node) ?? [];
  expect(moved.length).toBeGreaterThan(0);
  const writers = moved.flatMap(g => g.clients);
  const results: Promise<unknown>[] = [];
  const write = (i: number) =>
    writers.forEach((z, c) =>
      results.push(
        z.mutate.entry.upsert({id: `stop${c}-${i}`, client: `c${c}`, n: i, applied: 0}).server,
      ),
    );
  write(0);
  const t0 = performance.now();
  const stopped = node.stop();
  write(1);
  expect(await stopped).toBe(0);
  for (const r of await Promise.all(results)) expect(r).toEqual({type: 'success'});
  const rows = (await upstreamEntries(db)).filter(r => r.id.startsWith('stop'));
  expect(rows.length).toBe(writers.length * 2);
  expect(rows.filter(r => r.applied !== 1)).toEqual([]);
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('after-stop', 'upstream', 5)`);
  await everyoneSees('after-stop', moved);
  figures['view-syncer SIGTERM to its clients served by the others, ms'] = performance.now() - t0;
  for (const g of moved) {
    const now = await cluster.nodeOf(g.id);
    expect(now).toBeDefined();
    expect(now).not.toBe(node);
  }
  await node.start();
  await cluster.waitForStates({vs0: 'UP', vs1: 'UP', vs2: 'UP'});
}, 120_000);

test('a schema change upstream: every view-syncer takes the new replica and keeps its clients in step', async () => {
  const t0 = performance.now();
  await db.query(`ALTER TABLE entry ADD COLUMN note TEXT NOT NULL DEFAULT 'n'`);
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('after-alter', 'upstream', 7)`);
  await everyoneSees('after-alter');
  figures['ALTER TABLE + INSERT until every client on 3 view-syncers shows the row, ms'] =
    performance.now() - t0;
  // Still served and still written through after the reset.
  const w = groups.at(-1)!.clients[0]!.mutate.entry.upsert({
    id: 'after-alter-write',
    client: 'c',
    n: 8,
    applied: 0,
  });
  expect(await w.server).toEqual({type: 'success'});
  await everyoneSees('after-alter-write');
}, 120_000);

test('the manager killed: view-syncers keep serving reads and writes, and catch up once it is back', async () => {
  const {manager} = cluster;
  await manager.kill();
  // Served meanwhile: a new group hydrates what its node has, and a CRUD write goes upstream.
  const late = await openGroup();
  await everyoneSees('on-three', [late]);
  const w = groups[0]!.clients[0]!.mutate.entry.upsert({
    id: 'while-down',
    client: 'c',
    n: 5,
    applied: 0,
  });
  // The write is applied upstream now; its confirmation comes back through replication.
  await expect
    .poll(async () => (await upstreamEntries(db)).some(r => r.id === 'while-down'), LONG)
    .toBe(true);
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('upstream-while-down', 'upstream', 6)`);
  const t0 = performance.now();
  figures['manager restart to serving, ms'] = await manager.start();
  expect(await w.server).toEqual({type: 'success'});
  await everyoneSees('while-down');
  await everyoneSees('upstream-while-down');
  figures['manager restart to every client caught up, ms'] = performance.now() - t0;
  const rows = await upstreamEntries(db);
  expect(rows.filter(r => r.applied !== 1)).toEqual([]);
}, 120_000);
