// zero.inspector against a real zero-cache: the queries it lists, their state, TTL and row
// counts follow the queries an instance adds, the server completes, data changes and the
// app removes. A preparer hook holds chosen queries at the server, so that their `unknown`
// state is observed before the server answers, whatever the machine's speed.
import type {InspectorQuery} from '@zync/client';
import {Zero} from '@zync/client';
import type {QueryPreparer} from '@zync/cache';
import {createSchema, number, relationships, string, syncedQuery, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import {startQueriesApi, type QueriesApi} from './synced-queries-api.ts';
import {startZeroCache, type StartedZeroCache} from './zero-cache.ts';

const issue = table('issue')
  .columns({id: string(), title: string(), owner: string(), rank: number()})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id')})
  .primaryKey('id');
const schema = createSchema({
  tables: [issue, comment],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
  ],
});
type Z = Zero<typeof schema>;

/** Queries (by hash) the server holds until the test lets them go. */
const held = new Map<string, Promise<void>>();
function hold(hash: string): () => void {
  let release!: () => void;
  held.set(hash, new Promise<void>(r => (release = r)));
  return release;
}
const holdingPreparer: QueryPreparer = async query => {
  await held.get(query.hash);
  return query.ast
    ? {ok: true, ast: query.ast}
    : {ok: false, error: {hash: query.hash, kind: 'internal', message: 'no AST'}};
};

let db: pg.Client;
let api: QueriesApi;
let zc: StartedZeroCache;
let z: Z;

beforeAll(async () => {
  const url = await createTestDatabase('e2e_inspector');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`
    CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL,
                        rank INT NOT NULL);
    CREATE TABLE comment (id TEXT PRIMARY KEY, issue_id TEXT NOT NULL);
    INSERT INTO issue SELECT 'i' || g, 'Issue ' || g, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, g
      FROM generate_series(1, 20) g;
    -- issue i<n> has n % 3 comments
    INSERT INTO comment SELECT 'c' || g || '_' || k, 'i' || g
      FROM generate_series(1, 20) g, generate_series(1, 2) k WHERE k <= g % 3;
  `);
  api = await startQueriesApi(schema);
  api.state.tokens.set('tok-alice', 'alice');
  zc = await startZeroCache(url, {
    env: {ZERO_GET_QUERIES_URL: api.url},
    hooks: {prepareQuery: holdingPreparer},
  });
  z = new Zero({server: zc.url, userID: 'alice', auth: 'tok-alice', schema, kvStore: 'mem'});
});

afterAll(async () => {
  await z?.close();
  await zc?.stop();
  await api?.close();
  await db?.end();
});

type View = {resultType: string; destroy(): void};

const byID = async (): Promise<Map<string, InspectorQuery>> =>
  new Map((await z.inspector.client.queries()).map(q => [q.id, q]));

/** Comments of issues 1..n in the seed (issue g has g % 3). */
const commentsUpTo = (n: number) =>
  Array.from({length: n}, (_, i) => (i + 1) % 3).reduce((a, b) => a + b, 0);

test('the listed queries follow what the instance adds, the server completes, data changes and the app removes', async () => {
  const inspector = z.inspector;
  expect(z.inspector).toBe(inspector);
  expect(inspector.client.id).toBe(z.clientID);
  expect(await inspector.clientGroup.id).toBe(await z.clientGroupID);
  expect(await inspector.client.queries()).toEqual([]);
  expect(await inspector.clientsWithQueries()).toEqual([]);

  // Added: unknown until the server (held here) answers; nothing local yet.
  const low = z.query.issue.where('rank', '<=', 5).related('comments');
  const releaseLow = hold(low.hash());
  const lowView = low.materialize() as unknown as View;
  let q = (await byID()).get(low.hash());
  expect(q).toMatchObject({
    id: low.hash(),
    clientID: z.clientID,
    clientGroupID: await z.clientGroupID,
    name: null,
    args: null,
    state: 'unknown',
    got: false,
    ttl: 5 * 60_000,
    views: 1,
    inactivatedAt: null,
    rowCount: 0,
  });
  expect(q?.ast).toEqual(low.ast);
  expect(JSON.stringify(q?.serverAST)).toContain('"issue_id"');
  expect((await inspector.clientsWithQueries()).map(c => c.id)).toEqual([z.clientID]);

  // Complete: the server's rows are counted (5 issues and their comments).
  releaseLow();
  await vi.waitFor(() => expect(lowView.resultType).toBe('complete'), {timeout: 10_000});
  q = (await byID()).get(low.hash());
  expect(q).toMatchObject({state: 'complete', got: true, views: 1});
  expect(q?.rowCount).toBe(5 + commentsUpTo(5));

  // A second query, preloaded with its own TTL, and a synced one by name and args.
  const top = z.query.issue.where('rank', '>', 18);
  const preload = z.preload(top, {ttl: '1m'});
  const issues = syncedQuery(
    'issues',
    (a: unknown[]) => a as [string],
    (s: string) => z.query.issue.where('title', 'LIKE', `%${s}%`).orderBy('id', 'asc'),
  );
  const mine = issues('Issue 1');
  const mineView = z.materialize(mine) as unknown as View;
  const failing = syncedQuery(
    'issues',
    (a: unknown[]) => a as [number],
    (n: number) => z.query.issue.where('rank', n),
  )(7);
  const failingView = z.materialize(failing) as unknown as View;
  await preload.complete;
  await vi.waitFor(() => expect(mineView.resultType).toBe('complete'), {timeout: 10_000});
  await vi.waitFor(() => expect(failingView.resultType).toBe('error'), {timeout: 10_000});
  let all = await byID();
  expect(all.size).toBe(4);
  expect(all.get(top.hash())).toMatchObject({state: 'complete', ttl: 60_000, rowCount: 2});
  const synced = [...all.values()].find(x => x.name === 'issues' && x.args?.[0] === 'Issue 1');
  // The server sent alice's issues matching "Issue 1" (10, 12, …, 18); the count is of the
  // client's own query over every local row, as the app's view shows it.
  const local = (await inspector.client.rows('issue')).filter(r =>
    String(r['title']).includes('Issue 1'),
  );
  expect(local.map(r => r['id'])).toEqual(
    expect.arrayContaining(['i10', 'i12', 'i14', 'i16', 'i18']),
  );
  expect(synced).toMatchObject({
    state: 'complete',
    got: true,
    rowCount: local.length,
    serverAST: null,
  });
  const failed = [...all.values()].find(x => x.args?.[0] === 7);
  expect(failed?.state).toBe('error');
  expect(failed?.error?.message).toMatch(/search must be a string/);

  // Data changes: a new low issue with a comment arrives and is counted.
  await db.query(`INSERT INTO issue VALUES ('i0', 'zero', 'alice', 0);
    INSERT INTO comment VALUES ('c0', 'i0')`);
  await vi.waitFor(
    async () => expect((await byID()).get(low.hash())?.rowCount).toBe(5 + commentsUpTo(5) + 2),
    {timeout: 10_000},
  );
  expect((await inspector.client.rows('issue')).map(r => r['id'])).toContain('i0');

  // Removed: no view holds it; the server keeps its result for the TTL, so it stays listed
  // as inactive. A query with ttl 'none' is dropped by the server at once and disappears.
  lowView.destroy();
  all = await byID();
  expect(all.get(low.hash())).toMatchObject({views: 0, got: true, state: 'complete'});
  expect(all.get(low.hash())?.inactivatedAt).toBeInstanceOf(Date);
  preload.cleanup();
  const gone = z.query.comment.where('id', 'c0');
  const goneView = z.materialize(gone, {ttl: 'none'}) as unknown as View;
  await vi.waitFor(() => expect(goneView.resultType).toBe('complete'), {timeout: 10_000});
  expect((await byID()).get(gone.hash())).toMatchObject({ttl: 0, rowCount: 1, views: 1});
  goneView.destroy();
  mineView.destroy();
  failingView.destroy();
  await vi.waitFor(async () => expect((await byID()).has(gone.hash())).toBe(false), {
    timeout: 10_000,
  });
  all = await byID();
  expect(all.get(top.hash())?.inactivatedAt).toBeInstanceOf(Date);
  expect([...all.values()].every(x => x.views === 0)).toBe(true);
});

test('rows() of an unknown table is a TypeError naming the tables', async () => {
  await expect(z.inspector.client.rows('issues')).rejects.toThrow(
    /unknown table "issues"; the schema has issue, comment/,
  );
});
