import pg from 'pg';
import postgres from 'postgres';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {createTestDatabase} from '../../../test/pg.ts';
import {zeroNodePg} from './adapters/node-pg.ts';
import {zeroPostgresJS} from './adapters/postgres-js.ts';
import {PushProcessor} from './push-processor.ts';
import type {PushMutation, PushRequestBody} from './push-request.ts';
import type {ServerTransaction} from './transaction.ts';
import {DDL, schema} from '../test/fixture.ts';
import type {ZQLDatabase} from './zql-database.ts';

type Tx = ServerTransaction<typeof schema, unknown>;

const mutators = {
  issue: {
    async create(tx: Tx, args: {id: string; title: string}) {
      await tx.mutate.issue.insert({id: args.id, title: args.title});
    },
    async createThenFail(tx: Tx, args: {id: string}) {
      await tx.mutate.issue.insert({id: args.id, title: 'doomed'});
      throw Object.assign(new Error('title taken'), {details: {field: 'title'}});
    },
    async full(tx: Tx, args: {id: string}) {
      expect(tx.location).toBe('server');
      expect(tx.reason).toBe('authoritative');
      await tx.mutate.user.upsert({id: 'u1', name: 'Ann'});
      await tx.mutate.user.upsert({id: 'u1', name: 'Anne'});
      await tx.mutate.issue.insert({
        id: args.id,
        title: 'Full',
        ownerID: 'u1',
        created: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
        modified: Date.UTC(2024, 5, 1),
        meta: {tags: ['a', 'b']},
        labels: ['x', 'y'],
        priority: 3,
        big: 9007199254740,
      });
      await tx.mutate.comment.insert({id: 'c1', issueID: args.id, body: 'hello'});
      await tx.mutate.comment.insert({id: 'c2', issueID: args.id, body: 'again'});
      await tx.mutate.issue.update({id: args.id, priority: 4});
    },
  },
};

function body(clientID: string, ids: [number, string, unknown][]): PushRequestBody {
  const mutations: PushMutation[] = ids.map(([id, name, arg]) => ({
    type: 'custom',
    id,
    clientID,
    name,
    args: [arg as never],
    timestamp: 1,
  }));
  return {
    clientGroupID: 'g1',
    mutations,
    pushVersion: 1,
    timestamp: 1,
    requestID: 'r1',
  };
}

const params = {appID: 'app', schema: 'app_0'};

const adapters: [
  string,
  (url: string) => {db: ZQLDatabase<typeof schema, unknown>; end: () => Promise<void>},
][] = [
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

describe.each(adapters)('PushProcessor on %s', (_name, make) => {
  let admin: pg.Client;
  let db: ZQLDatabase<typeof schema, unknown>;
  let end: () => Promise<void>;

  beforeAll(async () => {
    const url = await createTestDatabase('server_push');
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
  const titles = async () =>
    (await admin.query<{id: string}>('SELECT id FROM issue ORDER BY id')).rows.map(r => r.id);

  test('an app error rolls back that mutation only; the next one runs; lmid advances', async () => {
    const processor = new PushProcessor(db);
    const res = await processor.process(
      mutators,
      params,
      body('c1', [
        [1, 'issue|create', {id: 'a1', title: 'one'}],
        [2, 'issue|createThenFail', {id: 'a2'}],
        [3, 'issue.create', {id: 'a3', title: 'three'}],
      ]),
    );
    expect(res).toEqual({
      mutations: [
        {id: {id: 1, clientID: 'c1'}, result: {}},
        {
          id: {id: 2, clientID: 'c1'},
          result: {error: 'app', message: 'title taken', details: {field: 'title'}},
        },
        {id: {id: 3, clientID: 'c1'}, result: {}},
      ],
    });
    expect(await titles()).toEqual(['a1', 'a3']);
    expect(await lmid('c1')).toBe('3');
  });

  test('a repeated push applies nothing twice; a gap is refused and stops processing', async () => {
    const processor = new PushProcessor(db);
    const again = await processor.process(
      mutators,
      params,
      body('c1', [
        [3, 'issue|create', {id: 'a3', title: 'three'}],
        [4, 'issue|create', {id: 'a4', title: 'four'}],
        [6, 'issue|create', {id: 'a6', title: 'six'}],
        [7, 'issue|create', {id: 'a7', title: 'seven'}],
      ]),
    );
    if (!('mutations' in again)) throw new Error('expected mutations');
    expect(
      again.mutations.map(m => [m.id.id, 'error' in m.result ? m.result.error : 'ok']),
    ).toEqual([
      [3, 'alreadyProcessed'],
      [4, 'ok'],
      [6, 'oooMutation'],
    ]);
    expect(await titles()).toEqual(['a1', 'a3', 'a4']);
    expect(await lmid('c1')).toBe('4');
  });

  test('unknown mutators are app errors and advance the lmid', async () => {
    const processor = new PushProcessor(db);
    const res = await processor.process(mutators, params, body('c2', [[1, 'issue|nope', {}]]));
    expect(res).toMatchObject({mutations: [{result: {error: 'app'}}]});
    expect(await lmid('c2')).toBe('1');
  });

  test('tx.mutate writes server names, timestamps, json and arrays; tx.query reads them back', async () => {
    const processor = new PushProcessor(db);
    const res = await processor.process(
      mutators,
      params,
      body('c3', [[1, 'issue|full', {id: 'f1'}]]),
    );
    expect(res).toEqual({mutations: [{id: {id: 1, clientID: 'c3'}, result: {}}]});
    const row = (
      await admin.query(
        `SELECT full_name, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS c,
           modified::text AS m, meta, labels, priority, big::text AS big
         FROM issue JOIN users ON users.id = issue.owner_id WHERE issue.id = 'f1'`,
      )
    ).rows[0] as Record<string, unknown>;
    expect(row).toEqual({
      full_name: 'Anne',
      c: '2024-01-02 03:04:05.678',
      m: '2024-06-01 00:00:00',
      meta: {tags: ['a', 'b']},
      labels: ['x', 'y'],
      priority: 4,
      big: '9007199254740',
    });

    const read = await db.transaction(tx =>
      tx.query.issue
        .where('id', 'f1')
        .related('owner')
        .related('comments', q => q.orderBy('body', 'asc').limit(1))
        .one()
        .run(),
    );
    expect(read).toEqual({
      id: 'f1',
      title: 'Full',
      ownerID: 'u1',
      created: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
      modified: Date.UTC(2024, 5, 1),
      meta: {tags: ['a', 'b']},
      labels: ['x', 'y'],
      priority: 4,
      big: 9007199254740,
      owner: {id: 'u1', name: 'Anne'},
      comments: [{id: 'c2', issueID: 'f1', body: 'again'}],
    });
  });

  test('tx.query: where, or, exists, IN, LIKE, orderBy, limit, start', async () => {
    await admin.query(`
      INSERT INTO issue (id, title, priority, owner_id) VALUES
        ('q1', 'Alpha', 1, NULL), ('q2', 'beta', 2, 'u1'), ('q3', 'Gamma', NULL, 'u1'),
        ('q4', 'alphabet', 5, NULL);
      INSERT INTO comment (id, issue_id, body) VALUES ('qc', 'q3', 'x');`);
    const ids = (rows: unknown) => (rows as {id: string}[]).map(r => r.id);
    await db.transaction(async tx => {
      const q = tx.query.issue.where('id', 'LIKE', 'q%');
      expect(ids(await q.run())).toEqual(['q1', 'q2', 'q3', 'q4']);
      expect(ids(await q.where('title', 'LIKE', 'al%').run())).toEqual(['q4']);
      expect(ids(await q.where('title', 'ILIKE', 'al%').run())).toEqual(['q1', 'q4']);
      expect(ids(await q.where('priority', '>', 1).run())).toEqual(['q2', 'q4']);
      expect(ids(await q.where('priority', 'IS', null).run())).toEqual(['q3']);
      expect(ids(await q.where('priority', '!=', 1).run())).toEqual(['q2', 'q4']);
      expect(ids(await q.where('id', 'IN', ['q1', 'q3']).run())).toEqual(['q1', 'q3']);
      expect(ids(await q.where('id', 'NOT IN', ['q1', 'q3']).run())).toEqual(['q2', 'q4']);
      expect(
        ids(await q.where(({or, cmp}) => or(cmp('priority', 5), cmp('title', 'beta'))).run()),
      ).toEqual(['q2', 'q4']);
      expect(ids(await q.whereExists('owner').run())).toEqual(['q2', 'q3']);
      expect(ids(await q.whereExists('comments', c => c.where('body', 'x')).run())).toEqual(['q3']);
      expect(ids(await q.where(({not, exists}) => not(exists('owner'))).run())).toEqual([
        'q1',
        'q4',
      ]);
      // Strings order by code point: upper case first.
      expect(ids(await q.orderBy('title', 'asc').run())).toEqual(['q1', 'q3', 'q4', 'q2']);
      // NULL first ascending, last descending.
      expect(ids(await q.orderBy('priority', 'asc').limit(2).run())).toEqual(['q3', 'q1']);
      expect(ids(await q.orderBy('priority', 'desc').run())).toEqual(['q4', 'q2', 'q1', 'q3']);
      expect(ids(await q.orderBy('priority', 'asc').start({id: 'q1', priority: 1}).run())).toEqual([
        'q2',
        'q4',
      ]);
      expect(
        ids(
          await q
            .orderBy('priority', 'asc')
            .start({id: 'q1', priority: 1}, {inclusive: true})
            .run(),
        ),
      ).toEqual(['q1', 'q2', 'q4']);
      expect(await tx.query.issue.where('id', 'none').one().run()).toBeUndefined();
    });
  });

  test('a mutator can use the raw transaction', async () => {
    const processor = new PushProcessor(db);
    const res = await processor.process(
      {
        raw: async (tx: Tx) => {
          const rows = await tx.dbTransaction.query('SELECT 41 + 1 AS n', []);
          await tx.mutate.user.insert({id: `raw${String(rows[0]?.['n'])}`, name: 'r'});
        },
      },
      params,
      body('c4', [[1, 'raw', null]]),
    );
    expect(res).toEqual({mutations: [{id: {id: 1, clientID: 'c4'}, result: {}}]});
    expect((await admin.query(`SELECT id FROM users WHERE id = 'raw42'`)).rowCount).toBe(1);
  });

  test("the driver's own transaction object runs inside the mutation's transaction", async () => {
    const processor = new PushProcessor(db);
    // node-postgres's client answers `query`, postgres.js's transaction `unsafe`.
    const raw = (tx: Tx, sql: string) => {
      const w = tx.dbTransaction.wrappedTransaction as {
        query?: (s: string) => Promise<unknown>;
        unsafe?: (s: string) => Promise<unknown>;
      };
      return w.unsafe ? w.unsafe(sql) : w.query!(sql);
    };
    const res = await processor.process(
      {
        rawOnly: async (tx: Tx) => {
          await raw(tx, `INSERT INTO users (id, full_name) VALUES ('rawOnly', 'r')`);
        },
        rawThenFail: async (tx: Tx) => {
          await raw(tx, `INSERT INTO users (id, full_name) VALUES ('rawFail', 'r')`);
          throw new Error('no');
        },
      },
      params,
      body(`c5'\\x`, [
        [1, 'rawOnly', null],
        [2, 'rawThenFail', null],
      ]),
    );
    expect(res).toMatchObject({
      mutations: [{result: {}}, {result: {error: 'app', message: 'no'}}],
    });
    const ids = await admin.query(`SELECT id FROM users WHERE id LIKE 'raw%' ORDER BY id`);
    expect(ids.rows.map(r => r.id as string)).toContain('rawOnly');
    expect(ids.rows.map(r => r.id as string)).not.toContain('rawFail');
    // The raw object first, before any query of the transaction: still inside it.
    await expect(
      db.transaction(async tx => {
        await raw(tx, `INSERT INTO users (id, full_name) VALUES ('rawFirst', 'r')`);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await admin.query(`SELECT id FROM users WHERE id = 'rawFirst'`)).rowCount).toBe(0);
    // A client id with a quote and a backslash is recorded as it is.
    expect(await lmid(`c5'\\x`)).toBe('2');
  });

  test('a Fetch Request works, and malformed requests give structured errors', async () => {
    const processor = new PushProcessor(db);
    const req = (url: string, b: string) =>
      new Request(url, {method: 'POST', body: b, headers: {'content-type': 'application/json'}});
    const ok = await processor.process(
      mutators,
      req(
        'http://api/push?appID=app&schema=app_0',
        JSON.stringify(body('c5', [[1, 'issue|create', {id: 'r1', title: 'req'}]])),
      ),
    );
    expect(ok).toEqual({mutations: [{id: {id: 1, clientID: 'c5'}, result: {}}]});

    const notJSON = await processor.process(mutators, req('http://api/push?appID=app', '{oops'));
    expect(notJSON).toMatchObject({error: 'http', status: 400});
    const noApp = await processor.process(
      mutators,
      req('http://api/push', JSON.stringify(body('c5', []))),
    );
    expect(noApp).toMatchObject({error: 'http', status: 400});
    const secret = 'Bearer-secret-token-123';
    const bad = await processor.process(mutators, params, {
      clientGroupID: 'g',
      pushVersion: 1,
      timestamp: 1,
      requestID: 'r',
      mutations: [{id: 1, clientID: 'c', name: secret, args: 'nope', timestamp: 1}],
    });
    expect(bad).toMatchObject({error: 'http', status: 400, mutationIDs: [{id: 1, clientID: 'c'}]});
    expect(JSON.stringify(bad)).not.toContain(secret);
    const version = await processor.process(mutators, params, {...body('c5', []), pushVersion: 99});
    expect(version).toMatchObject({error: 'unsupportedPushVersion'});
  });
});
