// Operating zero-cache, end to end: real Postgres, a real zero-cache (HS256 tokens, custom
// mutators through a real API server), real Zero clients. /metrics moves as the scenario
// says; the admin endpoints show and drop client groups; the logs are JSON lines.
import type {ZeroOptions} from '@zync/client';
import {Zero} from '@zync/client';
import type {ServerTransaction} from '@zync/server';
import {createSchema, number, string, table} from '@zync/zql';
import {SignJWT} from 'jose';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {ApiServer} from './api-server.ts';
import {startApiServer} from './api-server.ts';
import {metric, scrape, type Sample} from './metrics-text.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const SECRET = 'operations-test-secret-0123456789-abcdefghijkl';
const PASSWORD = 'operations-admin-password';
const schema = createSchema({
  tables: [
    table('item').columns({id: string(), title: string(), votes: number()}).primaryKey('id'),
  ],
});
type Tx = {mutate: {item: {update(v: object): Promise<void>}}};
const clientMutators = {
  item: {bump: async (tx: Tx, {id}: {id: string}) => tx.mutate.item.update({id, votes: -1})},
};
const serverMutators = {
  item: {
    bump: async (tx: ServerTransaction<typeof schema, unknown>, {id}: {id: string}) => {
      const row = (await tx.query.item.where('id', id).one().run()) as {votes: number};
      await tx.mutate.item.update({id, votes: row.votes + 1});
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
  url = await createTestDatabase('e2e_operations');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, title TEXT NOT NULL, votes INT NOT NULL);
    INSERT INTO item SELECT 'i' || g, 'Item ' || g, 0 FROM generate_series(1, 20000) g;`);
  api = await startApiServer(url, schema, serverMutators);
  zc = await startZeroCache(url, {
    env: {
      ZERO_ADMIN_PASSWORD: PASSWORD,
      ZERO_AUTH_SECRET: SECRET,
      ZERO_MUTATE_URL: api.url,
      ZERO_LOG_FORMAT: 'json',
      // Every hydration of this file is "slow": each one is logged.
      ZERO_LOG_SLOW_HYDRATE_THRESHOLD: '1',
    },
    logLevel: 'debug',
    hooks: {operations: {historyIntervalMs: 100}},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await api?.close();
  await db?.end();
});

async function jwt(sub: string, expInS = 3600, secret = SECRET): Promise<string> {
  return new SignJWT({sub})
    .setProtectedHeader({alg: 'HS256'})
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInS)
    .sign(new TextEncoder().encode(secret));
}

function client(userID: string, auth: string, extra: Partial<ZeroOptions<typeof schema>> = {}): Z {
  const z = new Zero({
    server: zc.url,
    userID,
    schema,
    kvStore: 'mem' as const,
    auth,
    mutators: clientMutators,
    ...extra,
  }) as Z;
  zeros.push(z);
  return z;
}

type View = {data: {id: string; votes: number}[]; resultType: string};
const complete = (v: View) =>
  vi.waitFor(() => expect(v.resultType).toBe('complete'), {timeout: 15_000});
const waitState = (z: Z, name: string) =>
  vi.waitFor(() => expect(z.connection.state.current.name).toBe(name), {timeout: 10_000});
const metrics = () => scrape(zc.url, PASSWORD);
const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${zc.url}${path}`, {
    ...init,
    headers: {authorization: `Bearer ${PASSWORD}`, ...(init.headers as Record<string, string>)},
  });
const count = (m: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
  metric(m, name, labels);

test('without the password the admin endpoints answer 401; with it, 200 and Prometheus text', async () => {
  for (const path of ['/metrics', '/admin', '/admin/statz', '/admin/groups/x', '/admin/nope']) {
    const res = await fetch(`${zc.url}${path}`);
    expect(res.status, path).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    await res.arrayBuffer();
  }
  const basic = (p: string) => `Basic ${Buffer.from(`ops:${p}`).toString('base64')}`;
  const wrong = await fetch(`${zc.url}/metrics`, {headers: {authorization: basic('nope')}});
  expect(wrong.status).toBe(401);
  await wrong.arrayBuffer();
  const ok = await fetch(`${zc.url}/metrics`, {headers: {authorization: basic(PASSWORD)}});
  expect(ok.status).toBe(200);
  expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await ok.text();
  for (const name of [
    'zero_cache_connections',
    'zero_cache_hydration_seconds_bucket',
    'zero_cache_replication_lag_bytes',
    'zero_cache_cvr_flush_backlog',
    'process_resident_memory_bytes',
  ]) {
    expect(text).toContain(name);
  }
  const unknown = await admin('/admin/nope');
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toEqual({error: 'not found'});
  const health = await fetch(`${zc.url}/`);
  expect(health.status).toBe(200);
  await health.arrayBuffer();
});

test('a connect, a hydration, a write, a push and bad tokens move their metrics', async () => {
  const m0 = await metrics();
  expect(count(m0, 'zero_cache_connections')).toBe(0);
  const hydrated0 = count(m0, 'zero_cache_hydration_seconds_count');

  const a = client('alice', await jwt('alice'));
  const view = a.query.item.where('id', 'IN', ['i1', 'i2', 'i3']).materialize() as unknown as View;
  await complete(view);
  await vi.waitFor(async () => {
    const m = await metrics();
    expect(count(m, 'zero_cache_connections')).toBe(1);
    expect(count(m, 'zero_cache_clients')).toBe(1);
    expect(count(m, 'zero_cache_client_groups')).toBe(1);
    expect(count(m, 'zero_cache_queries')).toBe(1);
    expect(count(m, 'zero_cache_hydration_seconds_count')).toBe(hydrated0 + 1);
  });

  // An upstream write: replicated, advanced, poked, written to the CVR.
  const m1 = await metrics();
  await db.query(`UPDATE item SET votes = 7 WHERE id = 'i2'`);
  await vi.waitFor(() => expect(view.data.find(r => r.id === 'i2')?.votes).toBe(7));
  await vi.waitFor(async () => {
    const m = await metrics();
    expect(count(m, 'zero_cache_replica_commits_total')).toBeGreaterThan(
      count(m1, 'zero_cache_replica_commits_total'),
    );
    expect(count(m, 'zero_cache_replication_lag_seconds_count')).toBeGreaterThan(
      count(m1, 'zero_cache_replication_lag_seconds_count'),
    );
    expect(count(m, 'zero_cache_advance_seconds_count')).toBeGreaterThan(
      count(m1, 'zero_cache_advance_seconds_count'),
    );
    expect(count(m, 'zero_cache_poke_bytes_count')).toBeGreaterThan(
      count(m1, 'zero_cache_poke_bytes_count'),
    );
    expect(count(m, 'zero_cache_cvr_flush_seconds_count')).toBeGreaterThan(
      count(m1, 'zero_cache_cvr_flush_seconds_count'),
    );
    expect(count(m, 'zero_cache_cvr_flush_backlog')).toBe(0);
  });

  // A custom mutation: one push to the API server, answered.
  const push = {endpoint: 'push', outcome: 'ok'};
  expect(count(m1, 'zero_cache_api_requests_total', push)).toBe(0);
  expect(await a.mutate.item.bump({id: 'i1'}).server).toEqual({type: 'success'});
  const m2 = await metrics();
  expect(count(m2, 'zero_cache_api_requests_total', push)).toBe(1);
  expect(count(m2, 'zero_cache_api_request_seconds_count', push)).toBe(1);

  // The API server refuses the credentials of the next push.
  const refused = {endpoint: 'push', outcome: 'auth_refused'};
  api.state.failures.push(401);
  const b = client('bob', await jwt('bob'));
  void b.mutate.item.bump({id: 'i3'}).server.catch(() => {});
  await vi.waitFor(async () => {
    const m = await metrics();
    expect(count(m, 'zero_cache_api_requests_total', refused)).toBe(1);
    expect(count(m, 'zero_cache_auth_failures_total', {kind: 'api_server_refused'})).toBe(1);
  });

  // Tokens zero-cache refuses, by kind.
  const m3 = await metrics();
  const forged = client(
    'carol',
    await jwt('carol', 3600, 'another-secret-of-enough-length-0123456789'),
  );
  await waitState(forged, 'needs-auth');
  const expired = client('dave', await jwt('dave', -3600));
  await waitState(expired, 'needs-auth');
  const m4 = await metrics();
  for (const kind of ['bad_signature', 'expired']) {
    expect(count(m4, 'zero_cache_auth_failures_total', {kind})).toBe(
      count(m3, 'zero_cache_auth_failures_total', {kind}) + 1,
    );
  }
  // Labels come from fixed sets: no user, token or group in any of them.
  const labelValues = new Set(m4.flatMap(s => Object.values(s.labels)));
  for (const v of ['alice', 'bob', 'carol', 'dave', await a.clientGroupID]) {
    expect(labelValues.has(v)).toBe(false);
  }
});

test('statz, a group’s queries, and the history sampled for the status page', async () => {
  const z = client('erin', await jwt('erin'));
  const view = z.query.item.where('votes', '>=', 0).materialize() as unknown as View;
  await complete(view);
  const group = await z.clientGroupID;
  const statz = (await (await admin('/admin/statz')).json()) as {
    replica: {version: string};
    connections: number;
    groups: {clientGroupID: string; clients: number; queries: number; rows: number}[];
    memory: {rssBytes: number};
  };
  expect(statz.replica.version).toBe(zc.replicator.version);
  expect(statz.connections).toBeGreaterThanOrEqual(1);
  expect(statz.memory.rssBytes).toBeGreaterThan(0);
  expect(statz.groups).toContainEqual(
    expect.objectContaining({clientGroupID: group, clients: 1, queries: 1, rows: 20_000}),
  );
  const res = await admin(`/admin/groups/${encodeURIComponent(group)}`);
  expect(res.status).toBe(200);
  const detail = (await res.json()) as {queryList: Record<string, unknown>[]};
  expect(detail.queryList).toHaveLength(1);
  expect(detail.queryList[0]).toMatchObject({table: 'item', state: 'live', rows: 20_000});
  expect(detail.queryList[0]!['hydrationMs']).toEqual(expect.any(Number));
  expect((await admin('/admin/groups/no-such-group')).status).toBe(404);

  // The slow-hydration line names the query, never its rows.
  const slow = zc.logLines
    .map(l => JSON.parse(l) as Record<string, unknown>)
    .filter(l => l['msg'] === 'Slow query hydration' && l['rows'] === 20_000);
  expect(slow[0]).toMatchObject({level: 'warn', component: 'view-syncer', table: 'item'});
  expect(slow[0]!['hash']).toEqual(expect.any(String));
  expect(slow[0]!['ms']).toEqual(expect.any(Number));

  await vi.waitFor(async () => {
    const h = (await (await admin('/admin/history')).json()) as {
      intervalMs: number;
      samples: {t: number; connections: number}[];
    };
    expect(h.intervalMs).toBe(100);
    expect(h.samples.some(s => s.connections >= 1)).toBe(true);
  });
});

test('dropping a group disconnects its clients, deletes its CVR; they sync again from scratch', async () => {
  const z = client('frank', await jwt('frank'));
  const view = z.query.item.where('id', 'i5').materialize() as unknown as View;
  await complete(view);
  const group = await z.clientGroupID;
  const path = `/admin/groups/${encodeURIComponent(group)}`;
  const before = (await (await admin(path)).json()) as {version: string};

  expect((await admin(`${path}/drop`)).status).toBe(405);
  const crossSite = await admin(`${path}/drop`, {
    method: 'POST',
    headers: {origin: 'http://elsewhere.example'},
  });
  expect(crossSite.status).toBe(403);

  const res = await admin(`${path}/drop`, {method: 'POST'});
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({wasLoaded: true, deleted: true});
  const log = zc.logLines.map(l => JSON.parse(l) as Record<string, unknown>);
  expect(log).toContainEqual(
    expect.objectContaining({msg: 'Client group dropped by an operator', clientGroupID: group}),
  );
  // The client was told its state is gone, dropped it, and synced the query again into a
  // new CVR (a new epoch).
  await vi.waitFor(
    async () => {
      const r = await admin(path);
      expect(r.status).toBe(200);
      const after = (await r.json()) as {version: string; clients: number; rows: number};
      expect(after.version.split(':')[0]).not.toBe(before.version.split(':')[0]);
      expect(after).toMatchObject({clients: 1, rows: 1});
    },
    {timeout: 15_000},
  );
  await complete(view);
  expect(view.data.map(r => r.id)).toEqual(['i5']);

  // A group that is not in memory and has no CVR: nothing to delete.
  const none = await admin('/admin/groups/never-seen/drop', {method: 'POST'});
  expect(await none.json()).toEqual({wasLoaded: false, deleted: false});
});

test('every log line is one JSON object with time, level, msg and component', () => {
  expect(zc.logLines.length).toBeGreaterThan(10);
  for (const line of zc.logLines) {
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(o).slice(0, 4)).toEqual(['time', 'level', 'msg', 'component']);
    expect(['debug', 'info', 'warn', 'error']).toContain(o['level']);
  }
});

test('a zero-cache without ZERO_ADMIN_PASSWORD has no admin endpoints (404)', async () => {
  const plain = await startZeroCache(url);
  try {
    for (const path of ['/metrics', '/admin', '/admin/statz']) {
      const res = await fetch(`${plain.url}${path}`, {
        headers: {authorization: `Bearer ${PASSWORD}`},
      });
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
  } finally {
    await plain.stop();
  }
});
