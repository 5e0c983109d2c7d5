// The read path end to end: real Postgres, real zero-cache, real Zero clients over ws.
import type {SocketLike} from '@zync/client';
import {memStoreProvider, Zero} from '@zync/client';
import {createSchema, number, relationships, string, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const issue = table('issue')
  .columns({id: string(), title: string(), rank: number(), ownerID: string().from('owner_id')})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id'), body: string()})
  .primaryKey('id');
const user = table('user').from('users').columns({id: string(), name: string()}).primaryKey('id');
const big = table('big').columns({id: number(), label: string(), n: number()}).primaryKey('id');
const schema = createSchema({
  tables: [issue, comment, user, big],
  relationships: [
    relationships(issue, ({one, many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
      owner: one({sourceField: ['ownerID'], destField: ['id'], destSchema: user}),
    })),
  ],
});

let url: string;
let db: pg.Client;
let zc: StartedZeroCache;
const zeros: Zero<typeof schema>[] = [];

beforeAll(async () => {
  url = await createTestDatabase('e2e_sync');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`
    CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, rank INT NOT NULL,
                        owner_id TEXT NOT NULL);
    CREATE TABLE comment (id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, body TEXT NOT NULL);
    INSERT INTO users VALUES ('u1', 'Alice'), ('u2', 'Bob');
    INSERT INTO issue SELECT 'i' || g, 'Issue ' || g, g, CASE WHEN g % 2 = 0 THEN 'u1' ELSE 'u2' END
      FROM generate_series(1, 20) g;
    INSERT INTO comment SELECT 'c' || g, 'i' || (g % 5 + 1), 'Comment ' || g FROM generate_series(1, 10) g;
    CREATE TABLE big (id INT PRIMARY KEY, label TEXT NOT NULL, n FLOAT8 NOT NULL);
    INSERT INTO big SELECT g, 'row ' || g, g * 0.25 FROM generate_series(1, 12000) g;
  `);
  zc = await startZeroCache(url);
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await db?.end();
});

function client(userID = 'anon') {
  const z = new Zero({server: zc.url, userID, schema, kvStore: 'mem'});
  zeros.push(z);
  return z;
}

type View = {data: unknown; resultType: string};

async function complete(view: View): Promise<void> {
  await vi.waitFor(() => expect(view.resultType).toBe('complete'), {timeout: 10_000});
}

test('an upstream write reaches two clients; related, exists, limit and start stay right', async () => {
  const a = client();
  const b = client();
  const top = a.query.issue
    .orderBy('rank', 'desc')
    .limit(3)
    .related('comments')
    .materialize() as unknown as View;
  const withComments = b.query.issue
    .whereExists('comments')
    .related('owner')
    .materialize() as unknown as View;
  const after = b.query.issue
    .orderBy('rank', 'asc')
    .start({id: 'i5', rank: 5})
    .limit(2)
    .materialize() as unknown as View;
  await complete(top);
  await complete(withComments);
  await complete(after);
  expect((top.data as {id: string}[]).map(r => r.id)).toEqual(['i20', 'i19', 'i18']);
  expect((withComments.data as {id: string}[]).map(r => r.id).sort()).toEqual(
    ['i1', 'i2', 'i3', 'i4', 'i5'].sort(),
  );
  expect((withComments.data as {owner?: {name: string}}[]).every(r => r.owner?.name)).toBe(true);
  expect((after.data as {id: string}[]).map(r => r.id)).toEqual(['i6', 'i7']);

  // Move rows in and out: a new top issue, a comment that makes i20 appear in the exists view,
  // a delete inside the start window, and an update that changes the order.
  await db.query(`INSERT INTO issue VALUES ('i99', 'Top', 99, 'u1')`);
  await db.query(`INSERT INTO comment VALUES ('c99', 'i20', 'hello')`);
  await db.query(`DELETE FROM issue WHERE id = 'i6'`);
  await db.query(`UPDATE issue SET rank = 0 WHERE id = 'i19'`);

  await vi.waitFor(() =>
    expect((top.data as {id: string}[]).map(r => r.id)).toEqual(['i99', 'i20', 'i18']),
  );
  await vi.waitFor(() =>
    expect((withComments.data as {id: string}[]).map(r => r.id)).toContain('i20'),
  );
  await vi.waitFor(() =>
    expect((after.data as {id: string}[]).map(r => r.id)).toEqual(['i7', 'i8']),
  );
  const i20 = (top.data as {id: string; comments: {id: string}[]}[]).find(r => r.id === 'i20');
  expect(i20?.comments.map(c => c.id)).toContain('c99');

  // Both clients' local stores hold only what their queries need, and agree on shared rows.
  const aIssues = (await a.run(a.query.issue)) as unknown[];
  const bIssues = (await b.run(b.query.issue)) as unknown[];
  expect(aIssues.length).toBeLessThan(21);
  expect(bIssues.length).toBeLessThan(21);
});

test('zero-cache restarted under connected clients: they reconnect and converge', async () => {
  const c = client();
  const view = c.query.issue.where('id', 'IN', ['i1', 'i2']).materialize() as unknown as View;
  await complete(view);
  await zc.stop();
  await db.query(`UPDATE issue SET title = 'changed while down' WHERE id = 'i1'`);
  zc = await startZeroCache(url, {appId: zc.appId, replicaFile: zc.replicaFile, port: zc.port});
  await vi.waitFor(
    () =>
      expect((view.data as {id: string; title: string}[]).find(r => r.id === 'i1')?.title).toBe(
        'changed while down',
      ),
    {timeout: 20_000},
  );
});

test('a reconnect after missed changes receives only the delta', async () => {
  const provider = memStoreProvider();
  const received: string[] = [];
  const recording = (u: string) => {
    const ws = new WebSocket(u);
    ws.on('message', (d: Buffer) => received.push(d.toString()));
    return ws as unknown as SocketLike;
  };
  const open = () =>
    new Zero({server: zc.url, userID: 'delta', schema, kvStore: provider, createSocket: recording});
  const first = open();
  const v1 = first.query.issue.materialize() as unknown as View;
  await complete(v1);
  const total = (v1.data as unknown[]).length;
  expect(total).toBeGreaterThan(10);
  await first.close();
  await db.query(`UPDATE issue SET title = 'only this changed' WHERE id = 'i3'`);
  received.length = 0;
  const second = open();
  zeros.push(second);
  const v2 = second.query.issue.materialize() as unknown as View;
  await vi.waitFor(() =>
    expect((v2.data as {id: string; title: string}[]).find(r => r.id === 'i3')?.title).toBe(
      'only this changed',
    ),
  );
  const pokes = received
    .map(
      t =>
        JSON.parse(t) as [
          string,
          {rows?: {op: string; values?: unknown[]}[]; baseVersion?: string | null},
        ],
    )
    .filter(f => f[0] === 'poke');
  // Rows put: one per `put` op, one per value array of a `puts` op.
  const puts = pokes
    .flatMap(p => p[1].rows ?? [])
    .reduce((n, r) => n + (r.op === 'put' ? 1 : r.op === 'puts' ? (r.values?.length ?? 0) : 0), 0);
  expect(pokes.every(p => p[1].baseVersion !== null)).toBe(true);
  expect(puts).toBe(1);
});

test('a large first sync arrives in poke parts and puts ops, complete and in order', async () => {
  const received: string[] = [];
  const recording = (u: string) => {
    const ws = new WebSocket(u);
    ws.on('message', (d: Buffer) => received.push(d.toString()));
    return ws as unknown as SocketLike;
  };
  const z = new Zero({
    server: zc.url,
    userID: 'big-reader',
    schema,
    kvStore: 'mem',
    createSocket: recording,
  });
  zeros.push(z);
  const v = z.query.big.orderBy('n', 'desc').materialize() as unknown as View;
  await complete(v);
  const rows = v.data as {id: number; label: string; n: number}[];
  expect(rows).toHaveLength(12000);
  expect(rows[0]).toEqual({id: 12000, label: 'row 12000', n: 3000});
  expect(rows.every((r, i) => r.id === 12000 - i && r.label === `row ${r.id}`)).toBe(true);
  const frames = received.map(t => JSON.parse(t) as [string, {pokeID?: string; rows?: unknown[]}]);
  const parts = frames.filter(f => f[0] === 'pokePart');
  // 12,000 rows in parts of 5,000.
  expect(parts.length).toBeGreaterThanOrEqual(2);
  const poke = frames.find(f => f[0] === 'poke' && f[1].pokeID === parts[0]?.[1].pokeID);
  expect(poke).toBeDefined();
  // Whether the query came with the connect (a reset: `clear` first) or just after it.
  expect(JSON.stringify(parts[0]?.[1].rows).includes('{"op":"puts"')).toBe(true);

  // The view keeps following upstream writes afterwards.
  await db.query(`UPDATE big SET label = 'changed' WHERE id = 7`);
  await db.query(`DELETE FROM big WHERE id = 8`);
  await vi.waitFor(() => {
    const now = v.data as {id: number; label: string}[];
    expect(now).toHaveLength(11999);
    expect(now.find(r => r.id === 7)?.label).toBe('changed');
  });
});
