// Nothing secret or private reaches what an operator reads: distinctive strings are put in a
// token, a cookie, row values, mutation arguments and a query literal; a real scenario runs
// (sync, writes, a custom mutation with a retry, refused tokens, a slow hydration, a dropped
// group); then every log line (debug, JSON), /metrics, the admin JSON and the status page are
// searched for them.
import type {SocketLike} from '@zync/client';
import {Zero} from '@zync/client';
import type {ServerTransaction} from '@zync/server';
import {createSchema, string, table} from '@zync/zql';
import {SignJWT} from 'jose';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import {createTestDatabase} from '../pg.ts';
import type {ApiServer} from './api-server.ts';
import {startApiServer} from './api-server.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const TOKEN_MARK = 'TOKENMARK7f3a9c';
const COOKIE_MARK = 'COOKIEMARK91bd2e';
const ROW_MARK = 'ROWMARKc0ffee11';
const ARG_MARK = 'ARGMARK5eed42';
const QUERY_MARK = 'QUERYMARK0ddba11';
const SECRET = 'leak-test-secret-0123456789-abcdefghijklmnop';
const PASSWORD = 'leak-test-admin-password';

const schema = createSchema({
  tables: [table('note').columns({id: string(), body: string()}).primaryKey('id')],
});
type Tx = {mutate: {note: {insert(v: object): Promise<void>}}};
const clientMutators = {
  note: {add: async (tx: Tx, v: {id: string; body: string}) => tx.mutate.note.insert(v)},
};
const serverMutators = {
  note: {
    add: async (tx: ServerTransaction<typeof schema, unknown>, v: {id: string; body: string}) => {
      await tx.mutate.note.insert({id: v.id, body: `${v.body} ${ROW_MARK}`});
    },
  },
};

let db: pg.Client;
let zc: StartedZeroCache;
let api: ApiServer;
const zeros: Zero<typeof schema, typeof clientMutators>[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('e2e_ops_leak');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE note (id TEXT PRIMARY KEY, body TEXT NOT NULL);
    INSERT INTO note SELECT 'n' || g, 'note ${ROW_MARK} ' || g FROM generate_series(1, 3000) g;
    INSERT INTO note VALUES ('${QUERY_MARK}', 'the row a query names');`);
  api = await startApiServer(url, schema, serverMutators);
  zc = await startZeroCache(url, {
    env: {
      ZERO_ADMIN_PASSWORD: PASSWORD,
      ZERO_AUTH_SECRET: SECRET,
      ZERO_MUTATE_URL: api.url,
      ZERO_MUTATE_FORWARD_COOKIES: 'true',
      ZERO_LOG_FORMAT: 'json',
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

const jwt = (sub: string, expInS = 3600, secret = SECRET) =>
  new SignJWT({sub, note: TOKEN_MARK})
    .setProtectedHeader({alg: 'HS256'})
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInS)
    .sign(new TextEncoder().encode(secret));

const withCookie = (u: string) =>
  new WebSocket(u, {headers: {cookie: `session=${COOKIE_MARK}`}}) as unknown as SocketLike;

function client(userID: string, auth: string) {
  const z = new Zero({
    server: zc.url,
    userID,
    schema,
    kvStore: 'mem',
    auth,
    mutators: clientMutators,
    createSocket: withCookie,
  });
  zeros.push(z);
  return z;
}

type View = {data: {id: string; body: string}[]; resultType: string};
const admin = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${zc.url}${path}`, {
    ...init,
    headers: {authorization: `Bearer ${PASSWORD}`},
  });
  expect(res.status, path).toBe(200);
  return res.text();
};

test('no token, cookie, row value, argument or query literal reaches logs, metrics or admin pages', async () => {
  const tokens: string[] = [];
  const token = await jwt('alice');
  tokens.push(token);
  const a = client('alice', token);
  const all = a.query.note.materialize() as unknown as View;
  const named = a.query.note.where('id', QUERY_MARK).materialize() as unknown as View;
  await vi.waitFor(() => expect(all.resultType).toBe('complete'), {timeout: 15_000});
  await vi.waitFor(() => expect(named.data).toHaveLength(1));
  expect(all.data.some(r => r.body.includes(ROW_MARK))).toBe(true);

  // A custom mutation, retried once after a 500, with the cookie forwarded.
  api.state.failures.push(500);
  const res = await a.mutate.note.add({id: 'added', body: ARG_MARK}).server;
  expect(res).toEqual({type: 'success'});
  expect(api.requests.some(r => String(r.headers.cookie).includes(COOKIE_MARK))).toBe(true);
  await vi.waitFor(() =>
    expect(all.data.find(r => r.id === 'added')?.body).toBe(`${ARG_MARK} ${ROW_MARK}`),
  );
  // An upstream write of a marked value reaches the client.
  await db.query(`UPDATE note SET body = 'changed ${ROW_MARK}' WHERE id = 'n1'`);
  await vi.waitFor(() => expect(all.data.find(r => r.id === 'n1')?.body).toContain('changed'));

  // Refused tokens: a forged one, an expired one, and garbage holding the mark.
  for (const bad of [
    await jwt('bob', 3600, 'not-the-secret-but-long-enough-0123456789'),
    await jwt('carol', -3600),
    `${TOKEN_MARK}.${TOKEN_MARK}.${TOKEN_MARK}`,
  ]) {
    tokens.push(bad);
    const z = client('bob', bad);
    await vi.waitFor(() => expect(z.connection.state.current.name).toBe('needs-auth'), {
      timeout: 10_000,
    });
  }

  const group = await a.clientGroupID;
  const groupPath = `/admin/groups/${encodeURIComponent(group)}`;
  const texts: [string, string][] = [
    ['metrics', await admin('/metrics')],
    ['statz', await admin('/admin/statz')],
    ['group', await admin(groupPath)],
    ['history', await admin('/admin/history')],
    ['status page', await admin('/admin')],
  ];
  // The group's view lists both queries: the literal of one is not shown.
  expect(JSON.parse(texts[2]![1])).toMatchObject({queries: 2});
  texts.push(['drop', await admin(`${groupPath}/drop`, {method: 'POST'})]);
  await vi.waitFor(() => expect(all.resultType).toBe('complete'), {timeout: 15_000});
  // What the scenario logged, after the drop and resync too.
  texts.push(...zc.logLines.map((l, i): [string, string] => [`log line ${i}`, l]));
  expect(zc.logLines.some(l => l.includes('Slow query hydration'))).toBe(true);
  expect(zc.logLines.some(l => l.includes('Token rejected'))).toBe(true);
  expect(zc.logLines.some(l => l.includes('API server push failed; retrying'))).toBe(true);

  const marks = [TOKEN_MARK, COOKIE_MARK, ROW_MARK, ARG_MARK, QUERY_MARK, ...tokens];
  // JWT parts are base64url: the marks inside the token must not show encoded either.
  marks.push(...tokens.flatMap(t => t.split('.')).filter(p => p.length >= 8));
  const leaks = texts.flatMap(([where, text]) =>
    marks.filter(m => text.includes(m)).map(m => `${where}: ${m.slice(0, 20)}`),
  );
  expect(leaks).toEqual([]);
});
