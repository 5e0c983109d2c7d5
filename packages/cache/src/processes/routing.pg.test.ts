// The dispatcher with real processes: every client group is served by one worker, chosen by
// the clientGroupID URL parameter, and the groups spread over the workers.
import {afterAll, beforeAll, expect, test} from 'vitest';
import {SYNC_PATH} from '@zync/protocol';
import pg from 'pg';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startProcesses, type StartedProcesses} from '../../../../test/e2e/processes.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {workerIndexFor} from './routing.ts';

let zc: StartedProcesses;
const clients: TestClient[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('procs_routing');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, v INT NOT NULL)`);
  await db.end();
  zc = await startProcesses(url, {workers: 2});
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await zc?.stop();
});

async function join(groupID: string, clientID: string, urlGroupID = groupID) {
  const c = await TestClient.open(zc.port, `${SYNC_PATH}?clientGroupID=${urlGroupID}`);
  clients.push(c);
  c.connect({clientID, clientGroupID: groupID});
  await c.next('connected');
  return c;
}

test('health answers OK once every worker serves; other paths 404', async () => {
  expect((await fetch(`${zc.url}/`)).status).toBe(200);
  expect((await fetch(`${zc.url}/keepalive`)).status).toBe(200);
  expect((await fetch(`${zc.url}/nope`)).status).toBe(404);
  const procs = zc.processes();
  expect(procs.map(p => p.name)).toEqual([
    'dispatcher',
    'replicator',
    'sync-worker-0',
    'sync-worker-1',
  ]);
  expect(new Set(procs.map(p => p.pid)).size).toBe(4);
});

test('groups spread over the workers; all clients of a group meet on one worker', async () => {
  const groups = Array.from({length: 8}, (_, i) => `spread-${i}`);
  const expected = [0, 0];
  for (const g of groups) expected[workerIndexFor(g, 2)]!++;
  // Both workers get groups (a property of these IDs, checked so the test means something).
  expect(expected.every(n => n > 0)).toBe(true);
  for (const g of groups) {
    await join(g, `${g}-a`);
    await join(g, `${g}-b`);
    await join(g, `${g}-c`);
  }
  const stats = await zc.stats();
  const workers = stats.filter(s => s.role === 'sync-worker');
  expect(workers.map(w => w.stats?.clientGroups)).toEqual(expected);
  // Three sockets per group in memory on each worker: no group is split across workers.
  expect(workers.map(w => w.stats?.connections)).toEqual(expected.map(n => n * 3));
  for (const s of stats) expect(s.stats?.rssBytes).toBeGreaterThan(0);
});

test('many sockets handed over at once: every first frame reaches its worker', async () => {
  // The client sends `connect` as soon as the worker answers 101, while the dispatcher may
  // still hold the socket's handle: a frame read there would be lost (and the socket would
  // time out waiting for `connect`).
  const n = 300;
  const opened = await Promise.all(
    Array.from({length: n}, (_, i) =>
      TestClient.open(zc.port, `${SYNC_PATH}?clientGroupID=burst-${i}`).then(c => {
        clients.push(c);
        c.connect({clientID: `burst-${i}-c`, clientGroupID: `burst-${i}`});
        return c;
      }),
    ),
  );
  const frames = await Promise.all(opened.map(c => c.next('connected', 9_000)));
  expect(frames).toHaveLength(n);
  for (const c of opened) c.ws.terminate();
});

test('a connect frame for another group than the URL names is refused', async () => {
  const c = await TestClient.open(zc.port, `${SYNC_PATH}?clientGroupID=spread-0`);
  clients.push(c);
  c.connect({clientID: 'x', clientGroupID: 'spread-1'});
  const [, err] = await c.next('error');
  expect(err.kind).toBe('InvalidConnectionRequest');
  expect(err.message).toMatch(/clientGroupID URL parameter/);
  const bare = await TestClient.open(zc.port);
  clients.push(bare);
  bare.connect({clientID: 'y', clientGroupID: 'spread-1'});
  expect((await bare.next('error'))[1].kind).toBe('InvalidConnectionRequest');
});

test('a client of another protocol version still hears why', async () => {
  const c = await TestClient.open(zc.port, '/sync/v999/connect');
  clients.push(c);
  expect((await c.next('error'))[1].kind).toBe('VersionNotSupported');
});
