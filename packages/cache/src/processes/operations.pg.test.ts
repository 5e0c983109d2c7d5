// The operations endpoints on several processes (real Postgres, real child processes): the
// dispatcher serves /metrics and the admin endpoints for every sync worker, behind the
// admin password; a group's view and its drop go to the worker that owns the group. The
// OTLP export runs once, in the dispatcher, over the merged figures.
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {SYNC_PATH} from '@zync/protocol';
import pg from 'pg';
import {createTestDatabase} from '../../../../test/pg.ts';
import {metric, scrape} from '../../../../test/e2e/metrics-text.ts';
import {startProcesses, type StartedProcesses} from '../../../../test/e2e/processes.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {workerIndexFor} from './routing.ts';

const PASSWORD = 'processes-admin-password';
let zc: StartedProcesses;
const clients: TestClient[] = [];
/** The OTLP bodies the receiver got. */
const exported: {name: string; gauge?: {dataPoints: {asDouble?: number}[]}}[][] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      resourceMetrics: {scopeMetrics: {metrics: (typeof exported)[number]}[]}[];
    };
    exported.push(body.resourceMetrics.flatMap(r => r.scopeMetrics.flatMap(x => x.metrics)));
    res.writeHead(200, {'content-type': 'application/json'}).end('{}');
  });
});
/** One group on each worker. */
const groups = [0, 1].map(w => {
  let i = 0;
  while (workerIndexFor(`ops-${i}`, 2) !== w) i++;
  return `ops-${i}`;
});

beforeAll(async () => {
  const url = await createTestDatabase('procs_operations');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, v INT NOT NULL);
    INSERT INTO item VALUES ('a', 1), ('b', 2), ('c', 3);`);
  await db.end();
  await new Promise<void>(r => receiver.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/metrics`;
  zc = await startProcesses(url, {
    workers: 2,
    env: {
      ZERO_ADMIN_PASSWORD: PASSWORD,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: otlp,
      OTEL_METRIC_EXPORT_INTERVAL: '200',
    },
  });
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await zc?.stop();
  await new Promise(r => receiver.close(r));
});

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${zc.url}${path}`, {...init, headers: {authorization: `Bearer ${PASSWORD}`}});

/** A client of `group` with one query (its hash is the group's name), hydrated. */
async function join(group: string) {
  const c = await TestClient.open(zc.port, `${SYNC_PATH}?clientGroupID=${group}`);
  clients.push(c);
  c.connect({
    clientID: `${group}-c`,
    clientGroupID: group,
    desiredQueries: [{op: 'put', hash: `q-${group}`, ast: {kind: 'query', table: 'item'}}],
  });
  await c.next('connected');
  await c.poke(10_000);
  return c;
}

type Detail = {version: string; clients: number; queryList: {hash: string; rows: number}[]};

test('without the password every operations path answers 401', async () => {
  for (const path of ['/metrics', '/admin', '/admin/statz', '/admin/groups/x']) {
    const res = await fetch(`${zc.url}${path}`);
    expect(res.status, path).toBe(401);
    await res.arrayBuffer();
  }
});

test('figures of both workers are merged; a group is read and dropped on its worker', async () => {
  expect(workerIndexFor(groups[0]!, 2)).not.toBe(workerIndexFor(groups[1]!, 2));
  const joined = [await join(groups[0]!), await join(groups[1]!)];

  const m = await scrape(zc.url, PASSWORD);
  expect(metric(m, 'zero_cache_connections')).toBe(2);
  expect(metric(m, 'zero_cache_client_groups')).toBe(2);
  expect(metric(m, 'zero_cache_queries')).toBe(2);
  // The OTLP export pushes the same merged figures.
  await vi.waitFor(() => {
    const last = exported.at(-1)?.find(x => x.name === 'zero_cache_connections');
    expect(last?.gauge?.dataPoints.map(p => p.asDouble)).toEqual([2]);
  });
  // Process metrics keep one series per process.
  const rss = m.filter(s => s.name === 'process_resident_memory_bytes');
  expect(rss.map(s => s.labels['process']).sort()).toEqual([
    'dispatcher',
    'replicator',
    'sync-worker-0',
    'sync-worker-1',
  ]);

  const statz = (await (await admin('/admin/statz')).json()) as {
    connections: number;
    clientGroups: number;
    replica: {version: string};
    groups: {clientGroupID: string; clients: number; queries: number; rows: number}[];
  };
  expect(statz).toMatchObject({connections: 2, clientGroups: 2});
  expect(statz.replica.version).not.toBe('');
  expect(statz.groups.map(g => g.clientGroupID).sort()).toEqual([...groups].sort());
  for (const g of statz.groups) expect(g).toMatchObject({clients: 1, queries: 1, rows: 3});

  const details: Detail[] = [];
  for (const g of groups) {
    const res = await admin(`/admin/groups/${g}`);
    expect(res.status).toBe(200);
    const d = (await res.json()) as Detail;
    expect(d.queryList.map(q => [q.hash, q.rows])).toEqual([[`q-${g}`, 3]]);
    details.push(d);
  }
  expect((await admin('/admin/groups/never-seen')).status).toBe(404);

  const history = (await (await admin('/admin/history')).json()) as {samples: unknown[]};
  expect(history.samples.length).toBeGreaterThan(0);

  // Dropping the first group: its client is told its state is gone; on its return it syncs
  // into a new CVR. The other group stays as it was.
  const dropped = await admin(`/admin/groups/${groups[0]}/drop`, {method: 'POST'});
  expect(await dropped.json()).toEqual({wasLoaded: true, deleted: true});
  expect((await joined[0]!.next('error'))[1].kind).toBe('ClientNotFound');
  await join(groups[0]!);
  await vi.waitFor(async () => {
    const d = (await (await admin(`/admin/groups/${groups[0]}`)).json()) as Detail;
    expect(d.version.split(':')[0]).not.toBe(details[0]!.version.split(':')[0]);
    expect(d).toMatchObject({clients: 1, queryList: [{hash: `q-${groups[0]}`, rows: 3}]});
  });
  const other = (await (await admin(`/admin/groups/${groups[1]}`)).json()) as Detail;
  expect(other.version).toBe(details[1]!.version);
});
