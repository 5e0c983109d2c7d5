// Synced queries end to end: real Postgres, a real zero-cache resolving (name, args)
// through a real API server (handleGetQueriesRequest), real Zero clients over ws. Opaque
// tokens: no ZERO_AUTH_* key is set, the API server maps each token to a user.
import type {SocketLike} from '@zync/client';
import {Zero} from '@zync/client';
import {createSchema, string, syncedQuery, table} from '@zync/zql';
import fc from 'fast-check';
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

// The client's definitions, over the client's own query roots. `issues`: every local issue
// matching the search (the local store holds only what the server granted this user).
function defs(z: Z) {
  return {
    issues: syncedQuery(
      'issues',
      (args: unknown[]) => args as [string],
      (search: string) => z.query.issue.where('title', 'LIKE', `%${search}%`).orderBy('id', 'asc'),
    ),
    unknownQuery: syncedQuery(
      'nope',
      (args: unknown[]) => args as [],
      () => z.query.issue.orderBy('id', 'asc'),
    ),
    badArgs: syncedQuery(
      'issues',
      (args: unknown[]) => args as [number],
      (n: number) => z.query.issue.where('title', 'LIKE', `%${n}%`).orderBy('id', 'asc'),
    ),
  };
}

let url: string;
let db: pg.Client;
let api: QueriesApi;
let zc: StartedZeroCache;
const zeros: Z[] = [];

beforeAll(async () => {
  url = await createTestDatabase('e2e_synced');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL);
    INSERT INTO issue VALUES ('i1', 'alpha', 'alice'), ('i2', 'beta', 'bob'),
      ('i3', 'gamma', 'alice'), ('i4', 'bravo', 'alice'), ('i5', 'delta', 'bob');`);
  api = await startQueriesApi(schema);
  api.state.tokens.set('tok-alice', 'alice');
  api.state.tokens.set('tok-bob', 'bob');
  api.state.tokens.set('tok-alice-admin', 'admin');
  api.state.sessions.set('s-bob', 'bob');
  zc = await startZeroCache(url, {
    env: {ZERO_GET_QUERIES_URL: api.url, ZERO_GET_QUERIES_API_KEY: 'k-123'},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await api?.close();
  await db?.end();
});

function client(
  userID: string,
  auth: ZeroAuth | undefined,
  extra: {server?: string; cookie?: string} = {},
): Z {
  const z = new Zero({
    server: extra.server ?? zc.url,
    userID,
    schema,
    kvStore: 'mem' as const,
    // A client group per client: a group shares one row set among its clients.
    storageKey: `k${zeros.length}`,
    ...(auth === undefined ? {} : {auth}),
    ...(extra.cookie === undefined
      ? {}
      : {
          createSocket: (u: string) =>
            new WebSocket(u, {headers: {cookie: extra.cookie}}) as unknown as SocketLike,
        }),
  });
  zeros.push(z);
  return z;
}
type ZeroAuth = string | ((error?: 'invalid-token') => string | undefined);

type View = {
  data: {id: string}[];
  resultType: string;
  addListener(fn: (data: unknown, rt: string, err?: unknown) => void): () => void;
};
const ids = (v: View) => v.data.map(r => r.id);

test('each user gets their own rows; the client definition answers at once from local data', async () => {
  const a = client('alice', 'tok-alice');
  const b = client('bob', 'tok-bob');
  const va = a.materialize(defs(a).issues('')) as View;
  const vb = b.materialize(defs(b).issues('')) as View;
  await vi.waitFor(() => expect(va.resultType).toBe('complete'), {timeout: 10_000});
  await vi.waitFor(() => expect(vb.resultType).toBe('complete'), {timeout: 10_000});
  expect(ids(va)).toEqual(['i1', 'i3', 'i4']);
  expect(ids(vb)).toEqual(['i2', 'i5']);

  const call = api.requests.find(r => r.headers.authorization === 'Bearer tok-alice');
  expect(call?.body).toEqual(['transform', [{id: expect.any(String), name: 'issues', args: ['']}]]);
  expect(call?.headers['x-api-key']).toBe('k-123');
  expect(call?.headers.cookie).toBeUndefined();

  // Another search: the local definition answers before the server has.
  const before = api.requests.length;
  const {issues} = defs(a);
  const local = (await a.run(issues('br'))) as {id: string}[];
  expect(local.map(r => r.id)).toEqual(['i4']);
  expect(api.requests.length).toBe(before);
  const done = (await a.run(issues('br'), {type: 'complete'})) as {id: string}[];
  expect(done.map(r => r.id)).toEqual(['i4']);

  // Replication flows through the transformed query.
  await db.query(`INSERT INTO issue VALUES ('i6', 'epsilon', 'alice'), ('i7', 'zeta', 'bob')`);
  await vi.waitFor(() => expect(ids(va)).toEqual(['i1', 'i3', 'i4', 'i6']), {timeout: 10_000});
  await vi.waitFor(() => expect(ids(vb)).toEqual(['i2', 'i5', 'i7']), {timeout: 10_000});
  expect(zc.logLines.join('\n')).not.toMatch(/tok-|k-123/);
});

test('a token refresh transforms the query again', async () => {
  const a = client('alice', 'tok-alice');
  const {issues} = defs(a);
  const v = a.materialize(issues('a')) as View;
  await vi.waitFor(() => expect(v.resultType).toBe('complete'), {timeout: 10_000});
  expect(ids(v)).toEqual(['i1', 'i3', 'i4']);
  await a.connection.connect({auth: 'tok-alice-admin'});
  await vi.waitFor(() => expect(ids(v)).toEqual(['i1', 'i2', 'i3', 'i4', 'i5', 'i7']), {
    timeout: 10_000,
  });
  expect(api.requests.some(r => r.headers.authorization === 'Bearer tok-alice-admin')).toBe(true);
});

test('unknown name and bad args fail that query alone', async () => {
  const a = client('alice', 'tok-alice');
  const {issues, unknownQuery, badArgs} = defs(a);
  const good = a.materialize(issues('e')) as View;
  const unknown = a.materialize(unknownQuery()) as View;
  const bad = a.materialize(badArgs(7)) as View;
  await vi.waitFor(() => expect(good.resultType).toBe('complete'), {timeout: 10_000});
  await vi.waitFor(() => expect(unknown.resultType).toBe('error'), {timeout: 10_000});
  await vi.waitFor(() => expect(bad.resultType).toBe('error'), {timeout: 10_000});
  expect(ids(good)).toEqual(['i6']);
  let details: unknown;
  unknown.addListener((_d, _rt, err) => (details = err));
  expect(details).toMatchObject({error: 'app', message: 'unknown query name'});
  await expect(a.run(unknownQuery(), {type: 'complete'})).rejects.toThrow();
  await expect(a.run(badArgs(8), {type: 'complete'})).rejects.toThrow(/search must be a string/);
});

test('a 500 is retried, then the query completes', async () => {
  const a = client('alice', 'tok-alice');
  const {issues} = defs(a);
  const before = api.requests.length;
  api.state.failures.push(500, 503);
  const rows = (await a.run(issues('lph'), {type: 'complete'})) as {id: string}[];
  expect(rows.map(r => r.id)).toEqual(['i1']);
  expect(api.requests.length - before).toBeGreaterThanOrEqual(3);
});

test('a 401 sends the client to its auth function, then the query completes', async () => {
  const calls: (string | undefined)[] = [];
  const a = client('alice', error => {
    calls.push(error);
    return 'tok-alice';
  });
  const {issues} = defs(a);
  const states: string[] = [];
  a.connection.state.subscribe(s => states.push(`${s.name}:${s.reason ?? ''}`));
  await vi.waitFor(() => expect(a.connection.state.current.name).toBe('connected'), {
    timeout: 10_000,
  });
  api.state.failures.push(401);
  const rows = (await a.run(issues('amm'), {type: 'complete'})) as {id: string}[];
  expect(rows.map(r => r.id)).toEqual(['i3']);
  expect(calls).toContain('invalid-token');
  expect(states.some(s => s.includes('AuthInvalidated'))).toBe(true);
});

test('property: a synced query gives the same rows as the equivalent ad-hoc query', async () => {
  for (let u = 0; u < 3; u++) api.state.tokens.set(`tok-u${u}`, `u${u}`);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({owner: fc.integer({min: 0, max: 2}), title: fc.stringMatching(/^[ab]{1,3}$/)}),
        {
          maxLength: 12,
        },
      ),
      fc.integer({min: 0, max: 2}),
      fc.constantFrom('', 'a', 'b', 'ab'),
      async (rows, user, search) => {
        const prefix = `p${run++}-`;
        for (const [i, r] of rows.entries()) {
          await db.query('INSERT INTO issue VALUES ($1, $2, $3)', [
            `${prefix}${i}`,
            r.title,
            `u${r.owner}`,
          ]);
        }
        const z = client(`u${user}`, `tok-u${user}`);
        const {issues} = defs(z);
        const synced = (await z.run(issues(search), {type: 'complete'})) as {id: string}[];
        const adHoc = (await z.run(
          z.query.issue
            .where('owner', `u${user}`)
            .where('title', 'LIKE', `%${search}%`)
            .orderBy('id', 'asc'),
          {type: 'complete'},
        )) as {id: string}[];
        const mine = (xs: {id: string}[]) => xs.map(r => r.id).filter(id => id.startsWith(prefix));
        // The replica may trail the inserts: wait until the ad-hoc answer has them all.
        const expected = rows
          .map((r, i) => ({id: `${prefix}${i}`, ...r}))
          .filter(r => r.owner === user && r.title.includes(search))
          .map(r => r.id)
          .sort();
        await vi.waitFor(
          async () => {
            const s = (await z.run(issues(search))) as {id: string}[];
            expect(mine(s).sort()).toEqual(expected);
          },
          {timeout: 10_000},
        );
        expect(mine(synced).length).toBeLessThanOrEqual(expected.length);
        expect(mine(adHoc).length).toBeLessThanOrEqual(expected.length);
        const again = (await z.run(
          z.query.issue
            .where('owner', `u${user}`)
            .where('title', 'LIKE', `%${search}%`)
            .orderBy('id', 'asc'),
        )) as {id: string}[];
        expect(mine(again).sort()).toEqual(expected);
        await z.close();
      },
    ),
    {numRuns: 6},
  );
});
