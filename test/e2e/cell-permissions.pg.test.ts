// Cell (column) select rules end to end: real Postgres, real zero-cache with the
// permissions preparer, real clients. Hidden values are distinctive strings, and every
// frame a client receives is searched for them.
import {Zero} from '@zync/client';
import type {AST, DownstreamFrame} from '@zync/protocol';
import {
  ANYONE_CAN,
  boolean,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import type {Authenticator} from '../../packages/cache/src/server/hooks.ts';
import {SelectPermissions} from '../../packages/cache/src/permissions/select-permissions.ts';
import {TestClient} from '../../packages/cache/test/sync/test-client.ts';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const user = table('user')
  .from('users')
  .columns({
    id: string(),
    name: string(),
    email: string(),
    salary: string(),
    shared: boolean().from('share_email'),
  })
  .primaryKey('id');
const schema = createSchema({tables: [user]});
type S = typeof schema;
type Claims = {sub?: string; role?: string};
type EB = ExpressionBuilder<S, 'user'>;

const permissionsPromise = definePermissions<Claims, S>(schema, () => ({
  user: {
    row: {select: ANYONE_CAN},
    cell: {
      // Your own email, any email its owner shares, every email for an admin.
      email: {
        select: [
          (a, {cmp}: EB) => cmp('id', a.sub ?? ''),
          (_a, {cmp}: EB) => cmp('shared', true),
          (a, {cmpLit}: EB) => cmpLit(a.role ?? null, '=', 'admin'),
        ],
      },
      salary: {select: [(a, {cmpLit}: EB) => cmpLit(a.role ?? null, '=', 'admin')]},
    },
  },
}));

const TOKENS: Record<string, Claims> = {alice: {sub: 'alice'}, admin: {sub: 'root', role: 'admin'}};
const authenticate: Authenticator = connect => {
  const claims = connect.auth === undefined ? {} : TOKENS[connect.auth];
  return Promise.resolve(
    claims
      ? {ok: true, authData: claims, tokenExpiresAt: null}
      : {ok: false, kind: 'AuthInvalidated', message: 'unknown test token'},
  );
};

let db: pg.Client;
let zc: StartedZeroCache;
const zeros: Zero<S>[] = [];
const sockets: TestClient[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('e2e_cell_permissions');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`
    CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
                        salary TEXT NOT NULL, share_email BOOLEAN NOT NULL);
    INSERT INTO users VALUES
      ('alice', 'Alice', 'EMAIL-alice', 'SALARY-alice', false),
      ('bob', 'Bob', 'EMAIL-bob', 'SALARY-bob', false),
      ('carol', 'Carol', 'EMAIL-carol', 'SALARY-carol', true);
  `);
  const permissions = await permissionsPromise;
  const select = new SelectPermissions({permissions, claims: 'verified'});
  zc = await startZeroCache(url, {
    hooks: {authenticate, prepareQuery: select.prepare, cells: select, permissions},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  for (const s of sockets) s.ws.close();
  await zc?.stop();
  await db?.end();
});

const q = createBuilder(schema);
const serverAST = (ast: AST) => mapAST(ast, schema, 'server');

/** A raw socket that wants `ast`, to see every frame as sent. */
async function socket(auth: string, ast: AST, hash = 'h1'): Promise<TestClient> {
  const c = await TestClient.open(zc.port);
  sockets.push(c);
  c.connect({
    clientID: `raw-${auth}-${hash}`,
    clientGroupID: `raw-${auth}-${hash}`,
    userID: auth,
    auth,
    desiredQueries: [{op: 'put', hash, ast: serverAST(ast)}],
  });
  return c;
}

/** The hidden values found in the frames (their JSON text). */
function leaks(frames: readonly DownstreamFrame[], allowed: readonly string[]): string[] {
  const text = JSON.stringify(frames);
  return [...text.matchAll(/(EMAIL|SALARY)-[a-z]+(-[0-9]+)?/g)]
    .map(m => m[0])
    .filter(v => !allowed.includes(v));
}

test('a hidden column never reaches the client: initial sync and every advance', async () => {
  const z = new Zero({server: zc.url, userID: 'alice', schema, kvStore: 'mem', auth: 'alice'});
  zeros.push(z);
  const raw = await socket('alice', q.user.ast);
  const view = z.query.user.materialize() as unknown as {data: unknown; resultType: string};
  await vi.waitFor(() => expect(view.resultType).toBe('complete'), {timeout: 10_000});
  const rows = async () => (await z.run(z.query.user.orderBy('id', 'asc'))) as unknown[];
  // Her own email, carol's shared one; bob's row has no email; nobody's salary. (The
  // client reads a column its row was sent without as null.)
  expect(await rows()).toEqual([
    {id: 'alice', name: 'Alice', email: 'EMAIL-alice', salary: null, shared: false},
    {id: 'bob', name: 'Bob', email: null, salary: null, shared: false},
    {id: 'carol', name: 'Carol', email: 'EMAIL-carol', salary: null, shared: true},
  ]);
  await raw.poke();

  // Bob's row changes, his email too: the name arrives, the email does not.
  await db.query(`UPDATE users SET name = 'Robert', email = 'EMAIL-bob-2' WHERE id = 'bob'`);
  await vi.waitFor(
    async () =>
      expect(await rows()).toContainEqual({
        id: 'bob',
        name: 'Robert',
        email: null,
        salary: null,
        shared: false,
      }),
    {timeout: 10_000},
  );
  // Bob shares his email: it arrives. Then stops: it leaves the client's store.
  await db.query(`UPDATE users SET share_email = true WHERE id = 'bob'`);
  await vi.waitFor(
    async () =>
      expect(await rows()).toContainEqual({
        id: 'bob',
        name: 'Robert',
        email: 'EMAIL-bob-2',
        salary: null,
        shared: true,
      }),
    {timeout: 10_000},
  );
  await db.query(`UPDATE users SET share_email = false, email = 'EMAIL-bob-3' WHERE id = 'bob'`);
  await vi.waitFor(
    async () =>
      expect(await rows()).toContainEqual({
        id: 'bob',
        name: 'Robert',
        email: null,
        salary: null,
        shared: false,
      }),
    {timeout: 10_000},
  );
  await db.query(`INSERT INTO users VALUES ('dave', 'Dave', 'EMAIL-dave', 'SALARY-dave', false)`);
  await vi.waitFor(
    async () =>
      expect(await rows()).toContainEqual({
        id: 'dave',
        name: 'Dave',
        email: null,
        salary: null,
        shared: false,
      }),
    {timeout: 10_000},
  );

  await vi.waitFor(() => expect(JSON.stringify(raw.frames)).toContain('Dave'), {timeout: 10_000});
  expect(leaks(raw.frames, ['EMAIL-alice', 'EMAIL-carol', 'EMAIL-bob-2'])).toEqual([]);
  // The same rows as the Zero client saw, so the check above looked at real data.
  expect(JSON.stringify(raw.frames)).toContain('EMAIL-bob-2');
});

test('an admin gets every column', async () => {
  const raw = await socket('admin', q.user.where('salary', '>', 'S').ast);
  const poke = await raw.poke();
  expect(poke.queryErrors ?? []).toEqual([]);
  expect(JSON.stringify(raw.frames)).toContain('SALARY-bob');
  expect(JSON.stringify(raw.frames)).toContain('EMAIL-bob');
});

test('a query that filters on a hidden column is refused with a query error, and sends no rows', async () => {
  const raw = await socket('alice', q.user.where('salary', '>', 'SALARY-b').ast, 'h2');
  const poke = await raw.poke();
  expect(poke.queryErrors).toEqual([
    {hash: 'h2', kind: 'refused', message: expect.stringContaining('"user.salary"')},
  ]);
  expect(leaks(raw.frames, [])).toEqual([]);
  expect(poke.rows.filter(r => r.op !== 'clear')).toEqual([]);
});
