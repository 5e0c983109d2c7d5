// Synced queries with a short revalidation interval, and with cookie-based auth (no token
// at all): cookies reach the API server only with ZERO_GET_QUERIES_FORWARD_COOKIES=true.
import type {SocketLike} from '@zync/client';
import {Zero} from '@zync/client';
import {createSchema, string, syncedQuery, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import {createTestDatabase} from '../pg.ts';
import type {QueriesApi} from './synced-queries-api.ts';
import {startQueriesApi} from './synced-queries-api.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [
    table('issue').columns({id: string(), title: string(), owner: string()}).primaryKey('id'),
  ],
});
type Z = Zero<typeof schema>;

const issuesOf = (z: Z) =>
  syncedQuery(
    'issues',
    (args: unknown[]) => args as [string],
    (search: string) => z.query.issue.where('title', 'LIKE', `%${search}%`).orderBy('id', 'asc'),
  );

let url: string;
let db: pg.Client;
let api: QueriesApi;
let fast: StartedZeroCache;
let cookies: StartedZeroCache;
const zeros: Z[] = [];

beforeAll(async () => {
  url = await createTestDatabase('e2e_synced_modes');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL);
    INSERT INTO issue VALUES ('i1', 'alpha', 'alice'), ('i2', 'beta', 'bob'), ('i3', 'gamma', 'alice');`);
  api = await startQueriesApi(schema);
  api.state.tokens.set('tok-alice', 'alice');
  api.state.sessions.set('s-bob', 'bob');
  fast = await startZeroCache(url, {
    env: {ZERO_GET_QUERIES_URL: api.url, ZERO_GET_QUERIES_REVALIDATE_SECONDS: '1'},
  });
  cookies = await startZeroCache(url, {
    env: {ZERO_QUERY_URL: api.url, ZERO_GET_QUERIES_FORWARD_COOKIES: 'true'},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await fast?.stop();
  await cookies?.stop();
  await api?.close();
  await db?.end();
});

function client(server: string, userID: string, opts: {auth?: string; cookie?: string}): Z {
  const {cookie} = opts;
  const z = new Zero({
    server,
    userID,
    schema,
    kvStore: 'mem' as const,
    storageKey: `k${zeros.length}`,
    ...(opts.auth === undefined ? {} : {auth: opts.auth}),
    ...(cookie === undefined
      ? {}
      : {
          createSocket: (u: string) =>
            new WebSocket(u, {headers: {cookie}}) as unknown as SocketLike,
        }),
  });
  zeros.push(z);
  return z;
}

type View = {data: {id: string}[]; resultType: string};
const ids = (v: View) => v.data.map(r => r.id);

test('revalidation removes rows the API server stops granting', async () => {
  const a = client(fast.url, 'alice', {auth: 'tok-alice'});
  const v = a.materialize(issuesOf(a)('')) as View;
  await vi.waitFor(() => expect(v.resultType).toBe('complete'), {timeout: 10_000});
  expect(ids(v)).toEqual(['i1', 'i3']);
  api.state.hidden.add('i3');
  try {
    await vi.waitFor(() => expect(ids(v)).toEqual(['i1']), {timeout: 5_000});
  } finally {
    api.state.hidden.clear();
  }
  await vi.waitFor(() => expect(ids(v)).toEqual(['i1', 'i3']), {timeout: 5_000});
});

test('cookie auth without any token: the cookie is forwarded only with the flag', async () => {
  const b = client(cookies.url, 'bob', {cookie: 'session=s-bob'});
  const rows = (await b.run(issuesOf(b)(''), {type: 'complete'})) as {id: string}[];
  expect(rows.map(r => r.id)).toEqual(['i2']);
  const sent = api.requests.filter(r => r.headers.cookie === 'session=s-bob');
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every(r => r.headers.authorization === undefined)).toBe(true);
  expect(cookies.logLines.join('\n')).not.toContain('s-bob');

  // Without the flag the API server sees no cookie: the user is not logged in.
  const c = client(fast.url, 'bob', {cookie: 'session=s-bob'});
  await expect(c.run(issuesOf(c)('e'), {type: 'complete'})).rejects.toThrow(/not logged in/);
});
