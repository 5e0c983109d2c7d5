// The replication-manager's own paths: as several processes (ZERO_NUM_SYNC_WORKERS=2: a
// dispatcher and its replicator process, no sync workers), its replicator process killed and
// restarted by the dispatcher, and the start-up failures of the non-`all` roles, each one line.
import {createServer, type Server} from 'node:net';
import {Zero} from '@zync/client';
import {createSchema, number, string, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {refusedUpgrade, startCluster, type Cluster} from '../cluster.ts';
import {createTestDatabase} from '../pg.ts';
import {startBin} from '../zero-cache-process.ts';

const schema = createSchema({
  tables: [table('item').columns({id: string(), n: number()}).primaryKey('id')],
});
type View = {data: readonly {id: string}[]; resultType: string};
const LONG = {timeout: 60_000, interval: 50};

let url: string;
let db: pg.Client;
let cluster: Cluster;
const zeros: Zero<typeof schema>[] = [];

beforeAll(async () => {
  url = await createTestDatabase('cluster_manager');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, n INT NOT NULL);
                  INSERT INTO item VALUES ('seed', 0)`);
  cluster = await startCluster({
    upstreamUrl: url,
    viewSyncers: 1,
    managerEnv: {ZERO_NUM_SYNC_WORKERS: '2'},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await cluster?.stop();
  await db?.end();
});

test('a manager of several processes: no sync worker, 421 on upgrades, and its killed replicator process is restarted and catches up', async () => {
  const {manager} = cluster;
  expect(manager.children().map(c => c.role)).toEqual(['replicator']);
  const res = await refusedUpgrade(manager.port);
  expect(res.status).toBe(421);
  expect(res.body).toMatch(/serves no sync clients/);
  // Its figures come from the replicator process: the replica's version.
  const statz = await manager.admin('/admin/statz');
  expect(statz.status).toBe(200);

  const z = new Zero({server: cluster.url, userID: 'u', schema, kvStore: 'mem'});
  zeros.push(z);
  const view = z.query.item.materialize() as unknown as View;
  await vi.waitFor(() => expect(view.data.map(r => r.id)).toContain('seed'), LONG);
  await db.query(`INSERT INTO item VALUES ('before-kill', 1)`);
  await vi.waitFor(() => expect(view.data.map(r => r.id)).toContain('before-kill'), LONG);

  const [replicator] = manager.children();
  process.kill(replicator!.pid, 'SIGKILL');
  await db.query(`INSERT INTO item VALUES ('after-kill', 2)`);
  // The dispatcher starts a new replicator process: it streams again, writes the change log,
  // and the view-syncer's client gets the row.
  await vi.waitFor(() => expect(view.data.map(r => r.id)).toContain('after-kill'), LONG);
  const now = manager.children();
  expect(now.map(c => c.role)).toEqual(['replicator']);
  expect(now[0]!.pid).not.toBe(replicator!.pid);
  // A new view-syncer still gets a snapshot from the restarted process's server.
  const vs1 = await cluster.addViewSyncer();
  expect(vs1.running()).toBe(true);
});

function listenAnywhere(): Promise<{server: Server; port: number}> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({server, port: typeof addr === 'object' && addr ? addr.port : 0});
    });
  });
}

test('a taken snapshot port stops the manager at once, with one line naming ZERO_CHANGE_STREAMER_PORT', async () => {
  const {server, port} = await listenAnywhere();
  try {
    const zport = await listenAnywhere();
    zport.server.close();
    const run = startBin({
      ZERO_UPSTREAM_DB: url,
      ZERO_APP_ID: 'taken_port',
      ZERO_ROLE: 'replication-manager',
      ZERO_ADMIN_PASSWORD: 'secret',
      ZERO_HOST: '127.0.0.1',
      ZERO_PORT: String(zport.port),
      ZERO_CHANGE_STREAMER_PORT: String(port),
      ZERO_NUM_SYNC_WORKERS: '1',
    });
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toContain(
      `zero-cache: cannot listen on port ${port} on 127.0.0.1: the port is already in use by another process; set ZERO_CHANGE_STREAMER_PORT to a free port or stop the other process\n`,
    );
    expect(run.output()).not.toMatch(/initial copy/);
  } finally {
    server.close();
  }
});

test('the non-all roles refuse to start without ZERO_ADMIN_PASSWORD, in one line, exit code 2', async () => {
  for (const role of ['replication-manager', 'view-syncer']) {
    const run = startBin({
      ZERO_UPSTREAM_DB: url,
      ZERO_ROLE: role,
      ZERO_CHANGE_STREAMER_URI: 'http://127.0.0.1:9',
    });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toBe(
      `zero-cache: ZERO_ADMIN_PASSWORD is required with ZERO_ROLE=${role}: it authenticates replica snapshot downloads between nodes; set the same long random secret on every node\n`,
    );
  }
});
