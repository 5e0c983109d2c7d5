// Cell (column) write rules on CRUD mutations: insert and update rules of a column apply
// when the write sets that column, delete rules of every column on a delete.
import type pg from 'pg';
import type {Mutation, PushBody} from '@zync/protocol';
import {
  ANYONE_CAN,
  createSchema,
  definePermissions,
  NOBODY_CAN,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {captureLog, upstreamWithTables} from '../../test/push-fixture.ts';
import {ZeroPusher} from './zero-pusher.ts';

const issue = table('issue')
  .columns({
    id: string(),
    title: string(),
    ownerID: string().from('owner_id').optional(),
    projectID: string().from('project_id').optional(),
  })
  .primaryKey('id');
const schema = createSchema({tables: [issue]});
type S = typeof schema;
type Claims = {sub?: string; role?: string};

const isAdmin = (a: Claims, {cmpLit}: ExpressionBuilder<S, 'issue'>) =>
  cmpLit(a.role ?? null, '=', 'admin');
const ownsRow = (a: Claims, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('ownerID', a.sub ?? '');
const noProject = (_: Claims, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('projectID', 'IS', null);
const notClosed = (_: Claims, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('title', '!=', 'closed');

const permissionsPromise = definePermissions<Claims, S>(schema, () => ({
  issue: {
    row: {
      insert: ANYONE_CAN,
      update: {preMutation: ANYONE_CAN, postMutation: ANYONE_CAN},
      delete: ANYONE_CAN,
    },
    cell: {
      // Only admins may set the owner, on insert and update.
      ownerID: {insert: [isAdmin], update: {preMutation: [isAdmin]}},
      // The title of a row can be changed by its owner, and not to 'closed'.
      title: {update: {preMutation: [ownsRow], postMutation: [notClosed]}},
      // A row with a project can be deleted by an admin only.
      projectID: {delete: [isAdmin, noProject]},
    },
  },
}));

let pool: pg.Pool;
let pusher: ZeroPusher;
let n = 0;

beforeEach(async () => {
  pool = await upstreamWithTables();
  n = 0;
  pusher = new ZeroPusher({
    db: pool,
    appID: 'app',
    jwtAuth: true,
    permissions: await permissionsPromise,
    logger: captureLog().logger,
  });
  await pool.query(
    `INSERT INTO issue (id, title, owner_id, project_id) VALUES ('i1', 'one', 'alice', NULL), ('i2', 'two', 'bob', 'p')`,
  );
});

afterEach(async () => {
  await pool.end();
});

type Op = {op: 'insert' | 'upsert' | 'update' | 'delete'; table: string; value: object};

async function write(authData: Claims, ...ops: Op[]) {
  const m: Mutation = {
    type: 'crud',
    id: ++n,
    clientID: 'c1',
    name: '_zero_crud',
    args: [{ops}] as Mutation['args'],
    timestamp: 1,
  };
  const body: PushBody = {clientGroupID: 'g1', requestID: 'r', mutations: [m]};
  const res = await pusher.process(body, {
    clientGroupID: 'g1',
    userID: authData.sub,
    authData,
    token: () => 'tok',
    cookie: undefined,
  });
  return res.mutations[0]?.result;
}

async function rows() {
  const r = await pool.query('SELECT id, title, owner_id FROM issue ORDER BY id');
  return r.rows as unknown[];
}

const ok = {type: 'ok'};
const alice = {sub: 'alice'};
const admin = {sub: 'root', role: 'admin'};

test('insert: a column whose insert rule denies fails the mutation; leaving it unset passes', async () => {
  const denied = await write(alice, {
    op: 'insert',
    table: 'issue',
    value: {id: 'a', title: 'A', owner_id: 'alice'},
  });
  expect(denied).toEqual({
    type: 'error',
    error: 'zero',
    message:
      'Permission denied: the insert rule of column owner_id of table issue does not allow this write',
  });
  expect(await write(alice, {op: 'insert', table: 'issue', value: {id: 'b', title: 'B'}})).toEqual(
    ok,
  );
  expect(
    await write(admin, {
      op: 'insert',
      table: 'issue',
      value: {id: 'c', title: 'C', owner_id: 'x'},
    }),
  ).toEqual(ok);
  expect(await rows()).toEqual([
    {id: 'b', title: 'B', owner_id: null},
    {id: 'c', title: 'C', owner_id: 'x'},
    {id: 'i1', title: 'one', owner_id: 'alice'},
    {id: 'i2', title: 'two', owner_id: 'bob'},
  ]);
});

test('update: pre and post cell rules of the columns set apply; other columns do not', async () => {
  // alice owns i1: may retitle it, but not to 'closed' (post), nor change its owner.
  expect(
    await write(alice, {op: 'update', table: 'issue', value: {id: 'i1', title: 'uno'}}),
  ).toEqual(ok);
  const closed = await write(alice, {
    op: 'update',
    table: 'issue',
    value: {id: 'i1', title: 'closed'},
  });
  expect(closed).toMatchObject({
    type: 'error',
    message:
      'Permission denied: the update (postMutation) rule of column title of table issue does not allow this write',
  });
  const notOwner = await write(alice, {
    op: 'update',
    table: 'issue',
    value: {id: 'i2', title: 'mine'},
  });
  expect(notOwner).toMatchObject({
    message:
      'Permission denied: the update (preMutation) rule of column title of table issue does not allow this write',
  });
  const owner = await write(alice, {
    op: 'update',
    table: 'issue',
    value: {id: 'i1', owner_id: 'alice2'},
  });
  expect(owner).toMatchObject({
    message:
      'Permission denied: the update (preMutation) rule of column owner_id of table issue does not allow this write',
  });
  // An upsert of an existing row is an update: the same column rules.
  const upsert = await write(alice, {
    op: 'upsert',
    table: 'issue',
    value: {id: 'i2', title: 'two', owner_id: 'alice'},
  });
  expect(upsert).toMatchObject({type: 'error'});
  expect(await rows()).toEqual([
    {id: 'i1', title: 'uno', owner_id: 'alice'},
    {id: 'i2', title: 'two', owner_id: 'bob'},
  ]);
});

test('delete: every column delete rule applies to the old row', async () => {
  expect(await write(alice, {op: 'delete', table: 'issue', value: {id: 'i1'}})).toEqual(ok);
  expect(await write(alice, {op: 'delete', table: 'issue', value: {id: 'i2'}})).toMatchObject({
    message:
      'Permission denied: the delete rule of column project_id of table issue does not allow this write',
  });
  expect(await write(admin, {op: 'delete', table: 'issue', value: {id: 'i2'}})).toEqual(ok);
  expect(await rows()).toEqual([]);
});

test('a cell rule that allows nobody blocks the write even when the row rule allows it', async () => {
  const strict = await definePermissions<Claims, S>(schema, () => ({
    issue: {
      row: {insert: ANYONE_CAN, update: {preMutation: ANYONE_CAN, postMutation: ANYONE_CAN}},
      cell: {title: {update: {postMutation: NOBODY_CAN}}},
    },
  }));
  pusher = new ZeroPusher({
    db: pool,
    appID: 'app',
    jwtAuth: true,
    permissions: strict,
    logger: captureLog().logger,
  });
  expect(await write(admin, {op: 'update', table: 'issue', value: {id: 'i1', title: 'x'}})).toEqual(
    expect.objectContaining({type: 'error'}),
  );
  expect(
    await write(admin, {op: 'update', table: 'issue', value: {id: 'i1', owner_id: 'z'}}),
  ).toEqual(ok);
  expect(await rows()).toContainEqual({id: 'i1', title: 'one', owner_id: 'z'});
});
