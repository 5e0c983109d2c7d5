// A Zero 1.x API server (handleQueryRequest + handleMutateRequest from zync/server) behind a
// real zero-cache: calls carry one args value; an answer made for another user than the
// connection's is refused by zero-cache, which logs that without the users or the token.
import {createServer, type IncomingMessage} from 'node:http';
import {Zero, type Transaction} from '@zync/client';
import {handleMutateRequest, handleQueryRequest, zeroNodePg} from '@zync/server';
import {createBuilder, createSchema, string, syncedQuery, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import {startZeroCache, type StartedZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [
    table('issue').columns({id: string(), title: string(), owner: string()}).primaryKey('id'),
  ],
});
const builder = createBuilder(schema);
const TOKEN = 'tok-alice-SECRET';

let db: pg.Client;
let pool: pg.Pool;
let zc: StartedZeroCache;
let close: () => Promise<void>;
const seenArgs: unknown[] = [];
const mutators = {
  issue: {
    create: async (
      tx: Transaction<typeof schema>,
      args: {id: string; title: string; owner: string},
    ) => {
      await tx.mutate.issue.insert(args);
    },
  },
};
const zeros: Zero<typeof schema, typeof mutators>[] = [];

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

beforeAll(async () => {
  const url = await createTestDatabase('e2e_zero1x');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL);
    INSERT INTO issue VALUES ('i1', 'alpha', 'alice'), ('i2', 'beta', 'bob');`);
  pool = new pg.Pool({connectionString: url});
  const dbProvider = zeroNodePg(schema, pool);
  // The API server knows the user only from the token: every answer names alice.
  const server = createServer((req, res) => {
    void (async () => {
      const text = await body(req);
      const userID = req.headers.authorization === `Bearer ${TOKEN}` ? 'alice' : null;
      const request = new Request(`http://api${req.url ?? '/'}`, {method: 'POST', body: text});
      const out = req.url?.startsWith('/query')
        ? await handleQueryRequest({
            handler: (_name, args) => {
              seenArgs.push(args);
              const {owner} = args as {owner: string};
              return builder.issue.where('owner', owner).orderBy('id', 'asc');
            },
            schema,
            request,
            userID,
          })
        : await handleMutateRequest({
            dbProvider,
            handler: transact =>
              transact((tx, _name, args) =>
                tx.mutate.issue.insert(args as {id: string; title: string; owner: string}),
              ),
            request,
            userID,
          });
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(out));
    })();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const api = `http://127.0.0.1:${(server.address() as {port: number}).port}`;
  close = () => new Promise<void>(r => server.close(() => r()));
  zc = await startZeroCache(url, {
    env: {ZERO_QUERY_URL: `${api}/query`, ZERO_MUTATE_URL: `${api}/mutate`},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await close?.();
  await pool?.end();
  await db?.end();
});

function client(userID: string) {
  const z = new Zero({
    server: zc.url,
    userID,
    auth: TOKEN,
    schema,
    kvStore: 'mem' as const,
    storageKey: userID,
    mutators,
  });
  zeros.push(z);
  // The 1.x wire: the args list holds the one args value.
  const byOwner = syncedQuery(
    'issue.byOwner',
    (a: unknown[]) => a as [{owner: string}],
    (args: {owner: string}) => z.query.issue.where('owner', args.owner).orderBy('id', 'asc'),
  );
  return {z, byOwner};
}

test('defined queries and mutators get their one args value, for the right user', async () => {
  const {z, byOwner} = client('alice');
  const rows = (await z.run(byOwner({owner: 'alice'}), {type: 'complete'})) as {id: string}[];
  expect(rows.map(r => r.id)).toEqual(['i1']);
  expect(seenArgs).toContainEqual({owner: 'alice'});
  const r = z.mutate.issue.create({id: 'i3', title: 'gamma', owner: 'alice'});
  expect(await r.server).toEqual({type: 'success'});
  const {rows: inDB} = await db.query<{id: string}>(`SELECT id FROM issue WHERE id = 'i3'`);
  expect(inDB).toHaveLength(1);
});

test('an answer for another user than the connection’s is refused and logged without IDs', async () => {
  const {z, byOwner} = client('mallory');
  await expect(z.run(byOwner({owner: 'alice'}) as never, {type: 'complete'})).rejects.toThrow(
    /another user/,
  );
  const log = () => zc.logLines.join('\n');
  await vi.waitFor(() => expect(log()).toContain('get-queries for another user'));
  void z.mutate.issue.create({id: 'm1', title: 'x', owner: 'mallory'}).server.catch(() => {});
  await vi.waitFor(() => expect(log()).toContain('a push for another user'), {timeout: 10_000});
  expect(log()).not.toContain('mallory');
  expect(log()).not.toContain(TOKEN);
});
