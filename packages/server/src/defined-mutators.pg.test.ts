// Mutators written once with defineMutators (as a Zero 1.x app shares them between the
// client and its API server) run on the server through handleMutateRequest with the
// server transaction: `tx.mutate`, `tx.run(query)` on a createBuilder query, the
// validator, and the context the API server computed for the caller.
import pg from 'pg';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {StandardSchemaV1} from '@zync/zql';
import {createBuilder, defineMutator, defineMutators, mustGetMutator} from '@zync/zql';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../test/pg.ts';
import {zeroNodePg} from './adapters/node-pg.ts';
import {handleMutateRequest} from './mutate-request.ts';
import {DDL, schema} from '../test/fixture.ts';

type Ctx = {userID: string};
type Rename = {id: string; title: string};

/** A Standard Schema validator written out, as zod or valibot would provide it. */
const renameArgs: StandardSchemaV1<Rename> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(v) {
      const o = v as Partial<Rename> | null;
      return typeof o?.id === 'string' && typeof o.title === 'string'
        ? {value: {id: o.id, title: o.title}}
        : {issues: [{message: 'id and title must be strings'}]};
    },
  },
};

const zql = createBuilder(schema);

const mutators = defineMutators({
  issue: {
    rename: defineMutator<Rename, Rename, typeof schema, Ctx>(
      renameArgs,
      async ({tx, args, ctx}) => {
        const row = await tx.run(zql.issue.where('id', args.id).one());
        if (!row) throw new Error('no such issue');
        await tx.mutate.issue.update(args);
        // Checked after the write, so that a refusal must roll the write back.
        if (row.ownerID !== ctx.userID) throw new Error(`only the owner may rename ${row.title}`);
      },
    ),
  },
});

let admin: pg.Client;
let pool: pg.Pool;
beforeAll(async () => {
  const url = await createTestDatabase('server_defined_mutators');
  admin = new pg.Client({connectionString: url});
  await admin.connect();
  await admin.query(DDL);
  await admin.query(`INSERT INTO issue (id, title, owner_id) VALUES ('i1', 'first', 'alice')`);
  pool = new pg.Pool({connectionString: url});
});
afterAll(async () => {
  await pool?.end();
  await admin?.end();
});

function pushOf(clientID: string, ms: [number, string, ReadonlyJSONValue][]) {
  return {
    clientGroupID: 'g',
    mutations: ms.map(([id, name, args]) => ({
      type: 'custom',
      id,
      clientID,
      name,
      args: [args],
      timestamp: 1,
    })),
    pushVersion: 1,
    timestamp: 1,
    requestID: 'r',
  };
}

async function push(userID: string, ms: [number, string, ReadonlyJSONValue][], clientID: string) {
  const ctx: Ctx = {userID};
  return handleMutateRequest({
    dbProvider: zeroNodePg(schema, pool),
    handler: transact =>
      transact((tx, name, args) => mustGetMutator(mutators, name).fn({tx, args, ctx})),
    query: {appID: 'app', schema: 'app_0'},
    body: pushOf(clientID, ms),
    userID,
  });
}

const title = async () =>
  (await admin.query<{title: string}>(`SELECT title FROM issue WHERE id = 'i1'`)).rows[0]?.title;

test('the owner renames: tx.run(query) reads the row, tx.mutate writes it', async () => {
  const res = await push('alice', [[1, 'issue.rename', {id: 'i1', title: 'renamed'}]], 'ca');
  expect(res).toEqual({
    kind: 'MutateResponse',
    userID: 'alice',
    mutations: [{id: {id: 1, clientID: 'ca'}, result: {}}],
  });
  expect(await title()).toBe('renamed');
});

test("another user's rename is refused with its message and its write rolled back", async () => {
  const res = await push(
    'bob',
    [
      [1, 'issue.rename', {id: 'i1', title: 'bob was here'}],
      [2, 'issue.rename', {id: 'i1', title: 42}],
    ],
    'cb',
  );
  expect(res).toMatchObject({
    kind: 'MutateResponse',
    userID: 'bob',
    mutations: [
      {
        id: {id: 1, clientID: 'cb'},
        result: {error: 'app', message: 'only the owner may rename renamed'},
      },
      {id: {id: 2, clientID: 'cb'}, result: {error: 'app'}},
    ],
  });
  expect(await title()).toBe('renamed');
});
