import pg from 'pg';
import {ProtocolError, type Mutation, type PushBody} from '@zync/protocol';
import {afterEach, beforeEach, expect, test, vi} from 'vitest';
import {captureLog, upstreamWithTables, type CapturedLog} from '../../test/push-fixture.ts';
import {OPAQUE_TOKEN_CRUD_REFUSAL, ZeroPusher, type PushRequestContext} from './zero-pusher.ts';

let pool: pg.Pool;
let log: CapturedLog;
let pusher: ZeroPusher;

beforeEach(async () => {
  pool = await upstreamWithTables();
  log = captureLog();
  pusher = new ZeroPusher({db: pool, appID: 'app', jwtAuth: true, logger: log.logger});
});

afterEach(async () => {
  await pool.end();
});

const ctx: PushRequestContext = {
  clientGroupID: 'g1',
  userID: 'u1',
  authData: {sub: 'u1'},
  token: () => 'secret-token-abc',
  cookie: undefined,
};

type Op = {
  op: 'insert' | 'upsert' | 'update' | 'delete';
  table: string;
  value: Record<string, unknown>;
};

function crud(id: number, ...ops: Op[]): Mutation {
  return {
    type: 'crud',
    id,
    clientID: 'c1',
    name: '_zero_crud',
    args: [{ops}] as Mutation['args'],
    timestamp: 1,
  };
}

function push(...mutations: Mutation[]): PushBody {
  return {clientGroupID: 'g1', requestID: 'r1', mutations};
}

async function lmid(clientID = 'c1'): Promise<number | undefined> {
  const r = await pool.query<{l: string}>(
    `SELECT "lastMutationID" AS l FROM zync_app.clients WHERE "clientGroupID" = 'g1' AND "clientID" = $1`,
    [clientID],
  );
  return r.rows[0] ? Number(r.rows[0].l) : undefined;
}

async function issues(): Promise<Record<string, unknown>[]> {
  const r = await pool.query<Record<string, unknown>>(
    `SELECT id, title, owner_id, extract(epoch from created) * 1000 AS created,
            extract(epoch from due) * 1000 AS due, labels, meta, points FROM issue ORDER BY id`,
  );
  return r.rows.map(row => ({
    ...row,
    created: row['created'] === null ? null : Number(row['created']),
    due: row['due'] === null ? null : Number(row['due']),
  }));
}

test('insert, update, upsert and delete reach Postgres; the lmid is recorded', async () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  const res = await pusher.process(
    push(
      crud(1, {
        op: 'insert',
        table: 'issue',
        value: {
          id: 'i1',
          title: 'A',
          created: t,
          due: t,
          labels: ['x', 'y'],
          meta: {a: [1]},
          points: 3,
        },
      }),
      crud(2, {op: 'update', table: 'issue', value: {id: 'i1', title: 'A2'}}),
      crud(
        3,
        {op: 'upsert', table: 'issue', value: {id: 'i2', title: 'B'}},
        {op: 'upsert', table: 'issue', value: {id: 'i1', title: 'A3'}},
      ),
      crud(
        4,
        {op: 'insert', table: 'issue', value: {id: 'i3', title: 'C'}},
        {op: 'delete', table: 'issue', value: {id: 'i2'}},
      ),
    ),
    ctx,
  );
  expect(res.mutations).toEqual(
    [1, 2, 3, 4].map(id => ({clientID: 'c1', id, result: {type: 'ok'}})),
  );
  expect(await issues()).toEqual([
    {
      id: 'i1',
      title: 'A3',
      owner_id: null,
      created: t,
      due: t,
      labels: ['x', 'y'],
      meta: {a: [1]},
      points: '3',
    },
    {
      id: 'i3',
      title: 'C',
      owner_id: null,
      created: null,
      due: null,
      labels: null,
      meta: null,
      points: null,
    },
  ]);
  expect(await lmid()).toBe(4);
});

test('a failing mutation is rolled back alone; the next still runs; messages hold no values', async () => {
  const res = await pusher.process(
    push(
      crud(1, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'same'}}),
      // the first op succeeds, the second violates the unique title: both are undone
      crud(
        2,
        {op: 'insert', table: 'issue', value: {id: 'i2', title: 'other'}},
        {op: 'insert', table: 'issue', value: {id: 'i3', title: 'same'}},
      ),
      crud(3, {op: 'update', table: 'issue', value: {id: 'missing-row-key', title: 'x'}}),
      crud(4, {op: 'delete', table: 'issue', value: {id: 'missing-row-key'}}),
      crud(5, {op: 'insert', table: 'nope', value: {id: 'x'}}),
      crud(6, {op: 'insert', table: 'issue', value: {id: 'i4', title: 'T', bogus: 1}}),
      crud(7, {op: 'insert', table: 'issue', value: {id: 'i5', title: 'ok'}}),
    ),
    ctx,
  );
  const results = res.mutations.map(m => [
    m.id,
    m.result.type === 'error' ? m.result.message : 'ok',
  ]);
  expect(results).toEqual([
    [1, 'ok'],
    [2, 'insert into issue violates a unique constraint (issue_title_unique)'],
    [3, 'update of issue: no row has the given primary key'],
    [4, 'delete of issue: no row has the given primary key'],
    [5, 'unknown table nope'],
    [6, 'unknown column bogus in table issue'],
    [7, 'ok'],
  ]);
  for (const m of res.mutations) {
    if (m.result.type === 'error') expect(m.result.error).toBe('zero');
  }
  expect(JSON.stringify(res)).not.toMatch(/same|missing-row-key/);
  expect((await issues()).map(r => r['id'])).toEqual(['i1', 'i5']);
  expect(await lmid()).toBe(7);
});

test('already processed ids are skipped and said so; an out-of-order id is refused and nothing applied', async () => {
  await pusher.process(
    push(crud(1, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'A'}})),
    ctx,
  );
  const again = await pusher.process(
    push(
      crud(1, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'A'}}),
      crud(2, {op: 'insert', table: 'issue', value: {id: 'i2', title: 'B'}}),
    ),
    ctx,
  );
  expect(again.mutations).toEqual([
    {clientID: 'c1', id: 1, result: {type: 'alreadyProcessed'}},
    {clientID: 'c1', id: 2, result: {type: 'ok'}},
  ]);
  expect(await lmid()).toBe(2);

  const ooo = pusher.process(
    push(
      crud(3, {op: 'insert', table: 'issue', value: {id: 'i3', title: 'C'}}),
      crud(5, {op: 'insert', table: 'issue', value: {id: 'i5', title: 'E'}}),
    ),
    ctx,
  );
  await expect(ooo).rejects.toBeInstanceOf(ProtocolError);
  await expect(ooo).rejects.toMatchObject({kind: 'InvalidMessage'});
  expect(await lmid()).toBe(2);
  expect((await issues()).map(r => r['id'])).toEqual(['i1', 'i2']);
});

test('several clients of a group each keep their own lmid', async () => {
  const m2: Mutation = {
    ...crud(1, {op: 'insert', table: 'issue', value: {id: 'i2', title: 'B'}}),
    clientID: 'c2',
  };
  await pusher.process(
    push(crud(1, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'A'}}), m2),
    ctx,
  );
  expect(await lmid('c1')).toBe(1);
  expect(await lmid('c2')).toBe(1);
});

test('opaque-token mode refuses CRUD mutations with a clear error, marking them processed', async () => {
  const opaque = new ZeroPusher({db: pool, appID: 'app', jwtAuth: false, logger: log.logger});
  const res = await opaque.process(
    push(crud(1, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'A'}})),
    ctx,
  );
  expect(res.mutations).toEqual([
    {
      clientID: 'c1',
      id: 1,
      result: {type: 'error', error: 'zero', message: OPAQUE_TOKEN_CRUD_REFUSAL},
    },
  ]);
  expect(OPAQUE_TOKEN_CRUD_REFUSAL).toMatch(/JWT key.*custom mutators/s);
  expect(await issues()).toEqual([]);
  expect(await lmid()).toBe(1);
});

test('without a key, an anonymous connection (no token) may use CRUD', async () => {
  const anon = new ZeroPusher({db: pool, appID: 'app', jwtAuth: false, logger: log.logger});
  const res = await anon.process(
    push({
      ...crud(1, {op: 'insert', table: 'issue', value: {id: 'anon1', title: 'A'}}),
      clientID: 'c-anon',
    }),
    {...ctx, token: () => undefined},
  );
  expect(res.mutations.filter(m => m.result.type === 'error')).toEqual([]);
  expect((await issues()).map(r => r.id)).toContain('anon1');
});

test('no token text in log lines', () => {
  expect(log.lines.join('\n')).not.toContain('secret-token-abc');
});

test("the API server's clients table (created first, same DDL) is shared", async () => {
  await pool.query(`CREATE SCHEMA zync_app`);
  await pool.query(`CREATE TABLE zync_app.clients (
      "clientGroupID" TEXT NOT NULL,
      "clientID" TEXT NOT NULL,
      "lastMutationID" BIGINT NOT NULL,
      PRIMARY KEY ("clientGroupID", "clientID"))`);
  await pool.query(`INSERT INTO zync_app.clients VALUES ('g1', 'c1', 2)`);
  const res = await pusher.process(
    push(
      crud(2, {op: 'insert', table: 'issue', value: {id: 'dup', title: 'D'}}),
      crud(3, {op: 'insert', table: 'issue', value: {id: 'i3', title: 'C'}}),
    ),
    ctx,
  );
  expect(res.mutations.map(m => [m.id, m.result.type])).toEqual([
    [2, 'alreadyProcessed'],
    [3, 'ok'],
  ]);
  expect(await lmid()).toBe(3);
});

test('onLastMutationIDs hears the new last mutation id per client', async () => {
  const heard: [string, Record<string, number>][] = [];
  const p = new ZeroPusher({
    db: pool,
    appID: 'app',
    jwtAuth: true,
    logger: log.logger,
    onLastMutationIDs: (g, lmids) => heard.push([g, Object.fromEntries(lmids)]),
  });
  await p.process(
    push(
      crud(1, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'A'}}),
      crud(2, {op: 'insert', table: 'issue', value: {id: 'i1', title: 'A'}}),
    ),
    ctx,
  );
  expect(heard).toEqual([['g1', {c1: 2}]]);
});

test('plain writes of a push go to Postgres in two round trips (BEGIN + locks, writes + COMMIT)', async () => {
  await pool.query(`INSERT INTO issue (id, title) VALUES ('old1', 'o1'), ('old2', 'o2')`);
  // Warm the catalog and the clients table, so that only the push itself is counted.
  await pusher.process(
    push(crud(1, {op: 'insert', table: 'issue', value: {id: 'w', title: 'w'}})),
    ctx,
  );
  const spy = vi.spyOn(pg.Client.prototype, 'query');
  try {
    const res = await pusher.process(
      push(
        ...Array.from({length: 50}, (_, i) =>
          crud(i + 2, {op: 'insert', table: 'issue', value: {id: `n${i}`, title: `t${i}`}}),
        ),
        crud(52, {op: 'update', table: 'issue', value: {id: 'old1', title: 'o1b', points: 5}}),
        crud(53, {op: 'delete', table: 'issue', value: {id: 'old2'}}),
      ),
      ctx,
    );
    expect(res.mutations.filter(m => m.result.type !== 'ok')).toEqual([]);
    expect(res.mutations).toHaveLength(52);
    expect(spy).toHaveBeenCalledTimes(2);
  } finally {
    spy.mockRestore();
  }
  const rows = await issues();
  expect(rows).toHaveLength(52);
  expect(rows.find(r => r['id'] === 'old1')).toMatchObject({title: 'o1b', points: '5'});
  expect(await lmid()).toBe(53);
});

test('a batch that fails is redone one mutation at a time: the others apply once, in order', async () => {
  await pool.query(`INSERT INTO issue (id, title) VALUES ('a', 'x')`);
  const res = await pusher.process(
    push(
      crud(1, {op: 'update', table: 'issue', value: {id: 'a', title: 'y'}}),
      crud(2, {op: 'insert', table: 'issue', value: {id: 'b', title: 'x'}}), // x is free again
      crud(3, {op: 'insert', table: 'issue', value: {id: 'c', title: 'y'}}), // y is taken
      crud(4, {op: 'delete', table: 'issue', value: {id: 'a'}}),
      crud(5, {op: 'update', table: 'issue', value: {id: 'a', title: 'z'}}), // deleted by 4
      crud(6, {op: 'insert', table: 'issue', value: {id: 'c', title: 'y'}}), // y freed by 4
    ),
    ctx,
  );
  expect(res.mutations.map(m => [m.id, m.result.type])).toEqual([
    [1, 'ok'],
    [2, 'ok'],
    [3, 'error'],
    [4, 'ok'],
    [5, 'error'],
    [6, 'ok'],
  ]);
  expect((await issues()).map(r => [r['id'], r['title']])).toEqual([
    ['b', 'x'],
    ['c', 'y'],
  ]);
  expect(await lmid()).toBe(6);
});

test('values that are awkward as SQL text arrive intact; a NUL character is refused alone', async () => {
  const nasty = `it's a \\ "test"'); DROP TABLE issue; -- ✓\n\t$1 E'x'`;
  const res = await pusher.process(
    push(
      crud(1, {
        op: 'insert',
        table: 'issue',
        value: {
          id: 'i1',
          title: nasty,
          labels: ['a,b', '{c}', 'NULL', '"q"', 'back\\slash', null],
          meta: {s: nasty, n: [1, null, {x: true}]},
        },
      }),
      crud(2, {op: 'insert', table: 'issue', value: {id: 'i2', title: 'nul\u0000char'}}),
      crud(3, {op: 'update', table: 'issue', value: {id: 'i1', owner_id: nasty}}),
    ),
    ctx,
  );
  expect(res.mutations.map(m => [m.id, m.result.type])).toEqual([
    [1, 'ok'],
    [2, 'error'],
    [3, 'ok'],
  ]);
  expect(await issues()).toEqual([
    {
      id: 'i1',
      title: nasty,
      owner_id: nasty,
      created: null,
      due: null,
      labels: ['a,b', '{c}', 'NULL', '"q"', 'back\\slash', null],
      meta: {s: nasty, n: [1, null, {x: true}]},
      points: null,
    },
  ]);
  expect(await lmid()).toBe(3);
});
