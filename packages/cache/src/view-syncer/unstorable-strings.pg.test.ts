import pg from 'pg';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {PROTOCOL_VERSION, type AST, type UpstreamFrame} from '@zync/protocol';
import {silentLogger} from '@zync/shared';
import {createTestDatabase} from '../../../../test/pg.ts';
import {CVRStore} from '../cvr/cvr-store.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {TestClient} from '../../test/sync/test-client.ts';

// Strings Postgres cannot store, as a client may send them (JSON escapes).
const BAD = [
  {name: 'NUL', value: 'a\u0000b', message: /NUL character/},
  {name: 'lone surrogate', value: 'a\ud800b', message: /unpaired UTF-16 surrogate/},
] as const;

const all: AST = {kind: 'query', table: 'issue', orderBy: [['id', 'asc']]};
const withLiteral = (value: string): AST => ({
  ...all,
  where: {
    kind: 'simple',
    op: '=',
    left: {kind: 'column', name: 'title'},
    right: {kind: 'literal', value},
  },
});

let t: TestServer;
let replica: MemoryReplica;
let nextID = 0;

beforeAll(async () => {
  replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: [{id: 1, title: 'a'}]}});
  t = await startTestServer({dbUrl: await createTestDatabase('unstorable'), replica});
});

afterAll(async () => {
  await t.stop();
});

/** Two groups with a live query each, as bystanders of a hostile client. */
async function bystanders(): Promise<TestClient[]> {
  const out: TestClient[] = [];
  for (let i = 0; i < 2; i++) {
    const c = await TestClient.open(t.port);
    c.connect({
      clientID: `ok-${++nextID}`,
      clientGroupID: `ok-group-${nextID}`,
      desiredQueries: [{op: 'put', hash: 'all', ast: all}],
    });
    await c.poke();
    out.push(c);
  }
  return out;
}

/** The bystanders still get a replica change, and a new group can connect. */
async function expectStillServing(clients: TestClient[]) {
  const id = 1000 + ++nextID;
  replica.put('issue', {id, title: `t${id}`}).commit();
  for (const c of clients) {
    const poke = await c.poke();
    expect(poke.rows).toContainEqual({op: 'put', table: 'issue', value: {id, title: `t${id}`}});
  }
  const fresh = await TestClient.open(t.port);
  fresh.connect({
    clientID: `fresh-${nextID}`,
    clientGroupID: `fresh-${nextID}`,
    desiredQueries: [{op: 'put', hash: 'all', ast: all}],
  });
  expect((await fresh.poke()).gotQueries).toContainEqual({hash: 'all', op: 'put'});
  for (const c of [...clients, fresh]) await c.close();
}

async function expectRefused(c: TestClient, message: RegExp) {
  const [, body] = await c.next('error');
  expect(body.kind).toBe('InvalidMessage');
  expect(body.message).toMatch(message);
  // The message names where, never the string itself.
  expect(body.message).not.toMatch(/a\u0000b|a\ud800b/);
  await c.closed;
}

type Case = {
  readonly field: string;
  /** Frames the hostile client sends (the first is connect). */
  readonly frames: (bad: string, id: number) => UpstreamFrame[];
};

type ConnectFrameBody = Extract<UpstreamFrame, ['connect', unknown]>[1];

const connectBody = (id: number, over: Partial<ConnectFrameBody>): ConnectFrameBody => ({
  protocolVersion: PROTOCOL_VERSION,
  clientID: `bad-${id}`,
  clientGroupID: `bad-group-${id}`,
  userID: 'u1',
  baseVersion: null,
  lastMutationID: 0,
  desiredQueries: [],
  ...over,
});

const cases: Case[] = [
  {
    field: 'clientGroupID',
    frames: (bad, id) => [['connect', connectBody(id, {clientGroupID: bad})]],
  },
  {field: 'clientID', frames: (bad, id) => [['connect', connectBody(id, {clientID: bad})]]},
  {
    field: 'a query literal (connect)',
    frames: (bad, id) => [
      [
        'connect',
        connectBody(id, {desiredQueries: [{op: 'put', hash: 'q', ast: withLiteral(bad)}]}),
      ],
    ],
  },
  {
    field: 'a query literal (changeDesiredQueries)',
    frames: (bad, id) => [
      ['connect', connectBody(id, {})],
      ['changeDesiredQueries', {patch: [{op: 'put', hash: 'q', ast: withLiteral(bad)}]}],
    ],
  },
  {
    field: 'a synced query name',
    frames: (bad, id) => [
      ['connect', connectBody(id, {})],
      ['changeDesiredQueries', {patch: [{op: 'put', hash: 'q', name: bad, args: []}]}],
    ],
  },
  {
    field: 'a synced query arg (nested, and as a key)',
    frames: (bad, id) => [
      ['connect', connectBody(id, {})],
      [
        'changeDesiredQueries',
        {patch: [{op: 'put', hash: 'q', name: 'byTitle', args: [{t: [1, {[bad]: 'x'}]}]}]},
      ],
    ],
  },
  {
    field: 'a query hash',
    frames: (bad, id) => [
      ['connect', connectBody(id, {})],
      ['changeDesiredQueries', {patch: [{op: 'put', hash: bad, ast: all}]}],
    ],
  },
  {
    field: 'a mutation name',
    frames: (bad, id) => [
      ['connect', connectBody(id, {})],
      [
        'push',
        {
          clientGroupID: `bad-group-${id}`,
          requestID: 'r1',
          mutations: [
            {type: 'custom', id: 1, clientID: `bad-${id}`, name: bad, args: [], timestamp: 1},
          ],
        },
      ],
    ],
  },
  {
    field: 'a mutation arg',
    frames: (bad, id) => [
      ['connect', connectBody(id, {})],
      [
        'push',
        {
          clientGroupID: `bad-group-${id}`,
          requestID: 'r1',
          mutations: [
            {
              type: 'crud',
              id: 1,
              clientID: `bad-${id}`,
              name: '_zero_crud',
              args: [{ops: [{op: 'insert', table: 'issue', value: {id: 9, title: bad}}]}],
              timestamp: 1,
            },
          ],
        },
      ],
    ],
  },
];

describe.each(BAD)('$name strings are refused at the door', bad => {
  test.each(cases)(
    'in $field: the client gets a clear error, other groups keep working',
    async c => {
      const others = await bystanders();
      const id = ++nextID;
      const hostile = await TestClient.open(t.port);
      const frames = c.frames(bad.value, id);
      for (const f of frames) {
        hostile.send(f);
        if (f[0] === 'connect' && frames.length > 1) await hostile.next('connected');
      }
      await expectRefused(hostile, bad.message);
      await expectStillServing(others);
    },
  );
});

describe('CVR store', () => {
  let pool: pg.Pool;
  let store: CVRStore;

  beforeAll(async () => {
    pool = new pg.Pool({connectionString: await createTestDatabase('unstorable_store'), max: 2});
    store = new CVRStore(pool, 'test', silentLogger);
    await store.init();
  });

  afterAll(async () => {
    await pool.end();
  });

  async function groupWithQuery(groupID: string, args: unknown[], ttlMs = 1000) {
    const {cvr} = await store.load(groupID);
    cvr.state.queries.set('q', {
      hash: 'q',
      ast: all,
      name: 'byTitle',
      args: args as never,
      desiredBy: new Map([['c1', ttlMs]]),
      ttlMs,
      inactiveSince: null,
      gotSeq: 1,
      replicaVersion: null,
      patchSeq: 1,
      deleted: false,
    });
    cvr.markQueryDirty('q');
    return cvr;
  }

  async function storedQueries(groupID: string): Promise<string[]> {
    const {rows} = await pool.query<{hash: string}>(
      `SELECT hash FROM zync_test_cvr.queries WHERE group_id = $1`,
      [groupID],
    );
    return rows.map(r => r.hash);
  }

  for (const bad of BAD) {
    test(`a group whose write holds a ${bad.name} string fails alone, with a clear error`, async () => {
      const good = await groupWithQuery(`good-${bad.name}`, ['fine']);
      const evil = await groupWithQuery(`evil-${bad.name}`, [bad.value]);
      // Flushed in the same turn: one shared statement on the old code.
      const results = await Promise.allSettled([
        store.flush(evil.takeWrites()),
        store.flush(good.takeWrites()),
      ]);
      expect(results[1].status).toBe('fulfilled');
      expect(results[0].status).toBe('rejected');
      expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(bad.message);
      expect(await storedQueries(`good-${bad.name}`)).toEqual(['q']);
    });
  }

  test('a shared write that Postgres refuses is retried group by group', async () => {
    const good = await groupWithQuery('good-retry', ['fine']);
    // A TTL that is not a number is written as null: the NOT NULL constraint refuses it.
    const broken = await groupWithQuery('broken-retry', ['fine'], Number.NaN);
    const results = await Promise.allSettled([
      store.flush(broken.takeWrites()),
      store.flush(good.takeWrites()),
    ]);
    expect(results.map(r => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(await storedQueries('good-retry')).toEqual(['q']);
    expect(await storedQueries('broken-retry')).toEqual([]);
  });
});
