import pg from 'pg';
import postgres from 'postgres';
import type {ReadonlyJSONValue} from '@zync/shared';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {createTestDatabase} from '../../../test/pg.ts';
import {zeroNodePg} from './adapters/node-pg.ts';
import {zeroPostgresJS} from './adapters/postgres-js.ts';
import {handleMutateRequest, type MutateRequestHandler} from './mutate-request.ts';
import type {ServerTransaction} from './transaction.ts';
import {DDL, schema} from '../test/fixture.ts';
import type {ZQLDatabase} from './zql-database.ts';

type Tx = ServerTransaction<typeof schema, unknown>;
type DB = ZQLDatabase<typeof schema, unknown>;

/** Mutators the 1.x way: `{tx, args}`, looked up by the handler from `namespace.name`. */
const mutators: Record<string, (o: {tx: Tx; args: unknown}) => Promise<void>> = {
  'issue.create': async ({tx, args}) => {
    const {id, title} = args as {id: string; title: string};
    await tx.mutate.issue.insert({id, title});
  },
  'issue.createThenFail': async ({tx, args}) => {
    await tx.mutate.issue.insert({id: (args as {id: string}).id, title: 'doomed'});
    throw Object.assign(new Error('title taken'), {details: {field: 'title'}});
  },
};

const seenArgs: unknown[] = [];
const handler: MutateRequestHandler<DB> = transact =>
  transact((tx, name, args) => {
    seenArgs.push(args);
    const fn = mutators[name];
    if (!fn) throw new Error(`Mutator not found: ${name}`);
    return fn({tx, args});
  });

function push(clientID: string, ms: [number, string, ...ReadonlyJSONValue[]][], version = 1) {
  return {
    clientGroupID: 'g1',
    mutations: ms.map(([id, name, ...args]) => ({
      type: 'custom',
      id,
      clientID,
      name,
      args,
      timestamp: 1,
    })),
    pushVersion: version,
    timestamp: 1,
    requestID: 'r1',
  };
}

const query = {appID: 'app', schema: 'app_0'};

const adapters: [string, (url: string) => {db: DB; end: () => Promise<void>}][] = [
  [
    'pg',
    url => {
      const pool = new pg.Pool({connectionString: url});
      return {db: zeroNodePg(schema, pool), end: () => pool.end()};
    },
  ],
  [
    'postgres.js',
    url => {
      const sql = postgres(url, {onnotice: () => {}});
      return {db: zeroPostgresJS(schema, sql), end: () => sql.end()};
    },
  ],
];

describe.each(adapters)('handleMutateRequest on %s', (_name, make) => {
  let admin: pg.Client;
  let db: DB;
  let end: () => Promise<void>;

  beforeAll(async () => {
    const url = await createTestDatabase('server_mutate');
    admin = new pg.Client({connectionString: url});
    await admin.connect();
    await admin.query(DDL);
    ({db, end} = make(url));
  });
  afterAll(async () => {
    await end();
    await admin.end();
  });

  const lmid = async (clientID: string) =>
    (
      await admin.query<{l: string}>(
        `SELECT "lastMutationID"::text AS l FROM zync_app.clients WHERE "clientID" = $1`,
        [clientID],
      )
    ).rows[0]?.l;
  const ids = async () =>
    (await admin.query<{id: string}>('SELECT id FROM issue ORDER BY id')).rows.map(r => r.id);

  test('runs each mutation with its one args value; an app error rolls back that one only', async () => {
    seenArgs.length = 0;
    const request = new Request('http://api/mutate?appID=app&schema=app_0', {
      method: 'POST',
      body: JSON.stringify(
        push('c1', [
          [1, 'issue.create', {id: 'a1', title: 'one'}],
          [2, 'issue.createThenFail', {id: 'a2'}],
          [3, 'issue.create', {id: 'a3', title: 'three'}],
        ]),
      ),
    });
    const res = await handleMutateRequest({dbProvider: db, handler, request, userID: 'u1'});
    expect(res).toEqual({
      kind: 'MutateResponse',
      userID: 'u1',
      mutations: [
        {id: {id: 1, clientID: 'c1'}, result: {}},
        {
          id: {id: 2, clientID: 'c1'},
          result: {error: 'app', message: 'title taken', details: {field: 'title'}},
        },
        {id: {id: 3, clientID: 'c1'}, result: {}},
      ],
    });
    expect(seenArgs).toEqual([{id: 'a1', title: 'one'}, {id: 'a2'}, {id: 'a3', title: 'three'}]);
    expect(await ids()).toEqual(['a1', 'a3']);
    expect(await lmid('c1')).toBe('3');
  });

  test('a replayed mutation is alreadyProcessed; a gap fails the rest as out of order', async () => {
    const first = await handleMutateRequest({
      dbProvider: db,
      handler,
      query,
      body: push('c2', [[1, 'issue.create', {id: 'b1', title: 'x'}]]),
      userID: null,
    });
    expect(first).toMatchObject({kind: 'MutateResponse', userID: null});
    const again = await handleMutateRequest({
      dbProvider: db,
      handler,
      query,
      body: push('c2', [
        [1, 'issue.create', {id: 'b1', title: 'x'}],
        [2, 'issue.create', {id: 'b2', title: 'y'}],
      ]),
      userID: undefined,
    });
    expect(again).toEqual({
      kind: 'MutateResponse',
      userID: null,
      mutations: [
        {
          id: {id: 1, clientID: 'c2'},
          result: {error: 'alreadyProcessed', details: expect.any(String) as string},
        },
        {id: {id: 2, clientID: 'c2'}, result: {}},
      ],
    });
    const gap = await handleMutateRequest({
      dbProvider: db,
      handler,
      query,
      body: push('c2', [
        [5, 'issue.create', {id: 'b5', title: 'z'}],
        [6, 'issue.create', {id: 'b6', title: 'z'}],
      ]),
      userID: 'u1',
    });
    expect(gap).toMatchObject({
      kind: 'PushFailed',
      origin: 'server',
      reason: 'oooMutation',
      mutationIDs: [
        {id: 5, clientID: 'c2'},
        {id: 6, clientID: 'c2'},
      ],
    });
    expect(await ids()).toEqual(['a1', 'a3', 'b1', 'b2']);
    expect(await lmid('c2')).toBe('2');
  });

  test('a handler that throws before transact records an app error and advances the id', async () => {
    const res = await handleMutateRequest({
      dbProvider: db,
      handler: (_transact, m) => Promise.reject(new Error(`Mutator not found: ${m.name}`)),
      query,
      body: push('c3', [[1, 'nope.missing']]),
      userID: 'u1',
    });
    expect(res).toEqual({
      kind: 'MutateResponse',
      userID: 'u1',
      mutations: [
        {
          id: {id: 1, clientID: 'c3'},
          result: {error: 'app', message: 'Mutator not found: nope.missing'},
        },
      ],
    });
    expect(await lmid('c3')).toBe('1');
  });

  test('a handler that throws after its mutation committed reports the commit', async () => {
    const res = await handleMutateRequest({
      dbProvider: db,
      handler: async transact => {
        await transact((tx, _name, args) =>
          tx.mutate.issue.insert({id: (args as {id: string}).id, title: 'kept'}),
        );
        throw new Error('notification service down');
      },
      query,
      body: push('c4', [[1, 'issue.create', {id: 'd1'}]]),
      userID: 'u1',
    });
    expect(res).toMatchObject({mutations: [{id: {id: 1, clientID: 'c4'}, result: {}}]});
    expect(await ids()).toContain('d1');
    expect(await lmid('c4')).toBe('1');
  });

  test('a handler that returns without running the mutation does not leave it pending', async () => {
    const res = await handleMutateRequest({
      dbProvider: db,
      handler: () => Promise.resolve(undefined as never),
      query,
      body: push('c5', [[1, 'issue.create', {id: 'e1', title: 't'}]]),
      userID: 'u1',
    });
    expect(res).toMatchObject({
      mutations: [{id: {id: 1, clientID: 'c5'}, result: {error: 'app'}}],
    });
    expect(await ids()).not.toContain('e1');
    expect(await lmid('c5')).toBe('1');
  });

  test('bad requests fail as a whole, without echoing their content', async () => {
    const secret = 'secret-row-content';
    const bad = await handleMutateRequest({
      dbProvider: db,
      handler,
      query,
      body: {clientGroupID: secret, mutations: 'no'},
      userID: 'u1',
    });
    expect(bad).toMatchObject({kind: 'PushFailed', origin: 'server', reason: 'parse'});
    expect(JSON.stringify(bad)).not.toContain(secret);
    const noApp = await handleMutateRequest({
      dbProvider: db,
      handler,
      query: {},
      body: push('c6', [[1, 'issue.create', {id: 'f1', title: 't'}]]),
      userID: 'u1',
    });
    expect(noApp).toMatchObject({
      kind: 'PushFailed',
      reason: 'parse',
      mutationIDs: [{id: 1, clientID: 'c6'}],
    });
    const version = await handleMutateRequest({
      dbProvider: db,
      handler,
      query,
      body: push('c6', [[1, 'issue.create', {id: 'f1', title: 't'}]], 2),
      userID: 'u1',
    });
    expect(version).toMatchObject({kind: 'PushFailed', reason: 'unsupportedPushVersion'});
    expect(await ids()).not.toContain('f1');
  });

  test('the positional form works and names no user', async () => {
    const res = await handleMutateRequest(
      db,
      handler,
      new URLSearchParams(query),
      push('c7', [[1, 'issue.create', {id: 'g1', title: 't'}]]),
    );
    expect(res).toEqual({
      kind: 'MutateResponse',
      mutations: [{id: {id: 1, clientID: 'c7'}, result: {}}],
    });
  });
});
