import type pg from 'pg';
import type {Mutation, PushBody} from '@zync/protocol';
import {
  ANYONE_CAN,
  createSchema,
  definePermissions,
  relationships,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {captureLog, upstreamWithTables} from '../../test/push-fixture.ts';
import {ZeroPusher, type PushRequestContext} from './zero-pusher.ts';

// Client names differ from server names, so the rules' columns must be mapped.
const issue = table('issue')
  .columns({
    id: string(),
    title: string(),
    ownerID: string().from('owner_id').optional(),
    projectID: string().from('project_id').optional(),
  })
  .primaryKey('id');
const project = table('projects')
  .from('project')
  .columns({id: string(), ownerID: string().from('owner_id')})
  .primaryKey('id');
const issueRels = relationships(issue, ({one}) => ({
  project: one({sourceField: ['projectID'], destField: ['id'], destSchema: project}),
}));
const schema = createSchema({tables: [issue, project], relationships: [issueRels]});
type S = typeof schema;
type Claims = {sub?: string; role?: string};

const isOwner = (a: Claims, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('ownerID', a.sub ?? '');
const isAdmin = (a: Claims, {cmpLit}: ExpressionBuilder<S, 'issue'>) =>
  cmpLit(a.role ?? null, '=', 'admin');
const ownsProject = (a: Claims, {exists}: ExpressionBuilder<S, 'issue'>) =>
  exists('project', q => q.where('ownerID', a.sub ?? ''));
const notLocked = (_: Claims, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('title', '!=', 'locked');

const permissionsPromise = definePermissions<Claims, S>(schema, () => ({
  issue: {
    row: {
      insert: [isOwner, isAdmin],
      update: {preMutation: [isOwner], postMutation: [notLocked]},
      delete: [ownsProject],
    },
  },
  projects: {row: {insert: ANYONE_CAN}},
}));

let pool: pg.Pool;
let pusher: ZeroPusher;
let nextID: Map<string, number>;

beforeEach(async () => {
  pool = await upstreamWithTables();
  const permissions = await permissionsPromise;
  pusher = new ZeroPusher({
    db: pool,
    appID: 'app',
    jwtAuth: true,
    permissions,
    logger: captureLog().logger,
  });
  nextID = new Map();
  await pool.query(`INSERT INTO project VALUES ('p1', 'alice'), ('p2', 'bob')`);
  await pool.query(
    `INSERT INTO issue (id, title, owner_id, project_id) VALUES ('i1', 'one', 'alice', 'p1'), ('i2', 'two', 'bob', 'p2')`,
  );
});

afterEach(async () => {
  await pool.end();
});

function ctxOf(authData: Claims): PushRequestContext {
  return {
    clientGroupID: 'g1',
    userID: authData.sub,
    authData,
    token: () => 'tok',
    cookie: undefined,
  };
}

type Op = {
  op: 'insert' | 'upsert' | 'update' | 'delete';
  table: string;
  value: Record<string, unknown>;
};

/** Pushes one CRUD mutation as `clientID`; answers its result. */
async function write(authData: Claims, ...ops: Op[]) {
  const clientID = authData.sub ?? 'anon';
  const id = (nextID.get(clientID) ?? 0) + 1;
  nextID.set(clientID, id);
  const m: Mutation = {
    type: 'crud',
    id,
    clientID,
    name: '_zero_crud',
    args: [{ops}] as Mutation['args'],
    timestamp: 1,
  };
  const body: PushBody = {clientGroupID: 'g1', requestID: 'r', mutations: [m]};
  const res = await pusher.process(body, ctxOf(authData));
  return res.mutations[0]?.result;
}

async function titles(): Promise<Record<string, string>> {
  const r = await pool.query<{id: string; title: string}>(
    'SELECT id, title FROM issue ORDER BY id',
  );
  return Object.fromEntries(r.rows.map(x => [x.id, x.title]));
}

const alice = {sub: 'alice'};
const bob = {sub: 'bob'};
const ok = {type: 'ok'};

test('insert: allowed for the owner or an admin, denied otherwise (with the rule named)', async () => {
  expect(
    await write(alice, {
      op: 'insert',
      table: 'issue',
      value: {id: 'a', title: 'A', owner_id: 'alice'},
    }),
  ).toEqual(ok);
  expect(
    await write(
      {sub: 'root', role: 'admin'},
      {op: 'insert', table: 'issue', value: {id: 'b', title: 'B', owner_id: 'x'}},
    ),
  ).toEqual(ok);
  const denied = await write(alice, {
    op: 'insert',
    table: 'issue',
    value: {id: 'c', title: 'C', owner_id: 'bob'},
  });
  expect(denied).toEqual({
    type: 'error',
    error: 'zero',
    message: 'Permission denied: the insert rule of table issue does not allow this write',
  });
  const anon = await write({}, {op: 'insert', table: 'issue', value: {id: 'd', title: 'D'}});
  expect(anon).toMatchObject({type: 'error', error: 'zero'});
  expect(Object.keys(await titles())).toEqual(['a', 'b', 'i1', 'i2']);
});

test('update: preMutation on the old row, postMutation on the new one', async () => {
  expect(
    await write(alice, {op: 'update', table: 'issue', value: {id: 'i1', title: 'one!'}}),
  ).toEqual(ok);
  const pre = await write(alice, {op: 'update', table: 'issue', value: {id: 'i2', title: 'mine'}});
  expect(pre).toMatchObject({
    message: expect.stringContaining('update (preMutation) rule') as unknown,
  });
  const post = await write(alice, {
    op: 'update',
    table: 'issue',
    value: {id: 'i1', title: 'locked'},
  });
  expect(post).toMatchObject({
    message: expect.stringContaining('update (postMutation) rule') as unknown,
  });
  // upsert of an existing row is an update
  const up = await write(bob, {op: 'upsert', table: 'issue', value: {id: 'i1', title: 'taken'}});
  expect(up).toMatchObject({message: expect.stringContaining('update (preMutation)') as unknown});
  expect(await titles()).toEqual({i1: 'one!', i2: 'two'});
});

test('delete: the EXISTS rule is answered from Postgres', async () => {
  expect(await write(bob, {op: 'delete', table: 'issue', value: {id: 'i1'}})).toMatchObject({
    message: 'Permission denied: the delete rule of table issue does not allow this write',
  });
  expect(await write(alice, {op: 'delete', table: 'issue', value: {id: 'i1'}})).toEqual(ok);
  // the rule sees writes made earlier in the same mutation
  expect(
    await write(
      bob,
      {op: 'insert', table: 'project', value: {id: 'p3', owner_id: 'bob'}},
      {op: 'update', table: 'issue', value: {id: 'i2', project_id: 'p3'}},
      {op: 'delete', table: 'issue', value: {id: 'i2'}},
    ),
  ).toEqual(ok);
  expect(await titles()).toEqual({});
});

test('a table outside the app schema is denied', async () => {
  await pool.query('CREATE TABLE secret (id TEXT PRIMARY KEY)');
  expect(await write(alice, {op: 'insert', table: 'secret', value: {id: 's'}})).toMatchObject({
    message: "Permission denied: table secret is not in the app's schema",
  });
});

test('writes a rule allows unconditionally and checked writes mix in one push', async () => {
  const m = (id: number, ...ops: Op[]): Mutation => ({
    type: 'crud',
    id,
    clientID: 'bob',
    name: '_zero_crud',
    args: [{ops}] as Mutation['args'],
    timestamp: 1,
  });
  const res = await pusher.process(
    {
      clientGroupID: 'g1',
      requestID: 'r',
      mutations: [
        m(1, {op: 'insert', table: 'project', value: {id: 'p3', owner_id: 'bob'}}),
        m(2, {op: 'insert', table: 'issue', value: {id: 'i3', title: 'x', owner_id: 'alice'}}),
        m(3, {op: 'insert', table: 'project', value: {id: 'p4', owner_id: 'bob'}}),
        m(4, {op: 'insert', table: 'issue', value: {id: 'i4', title: 'y', owner_id: 'bob'}}),
      ],
    },
    ctxOf(bob),
  );
  expect(res.mutations.map(x => [x.id, x.result.type])).toEqual([
    [1, 'ok'],
    [2, 'error'],
    [3, 'ok'],
    [4, 'ok'],
  ]);
  const projects = await pool.query<{id: string}>('SELECT id FROM project ORDER BY id');
  expect(projects.rows.map(r => r.id)).toEqual(['p1', 'p2', 'p3', 'p4']);
  expect(Object.keys(await titles())).toEqual(['i1', 'i2', 'i4']);
});
