import pg from 'pg';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {createTestDatabase} from '../../../test/pg.ts';
import {drivers, type Driver} from '../test/drivers.ts';
import {
  bumpLastMutationIDSql,
  clientsTableDDL,
  ensureClientsTable,
  lastMutationIDsOf,
  lockLastMutationIDsSql,
  writeLastMutationIDsSql,
} from './clients.ts';
import {inlineSql, inlineStatements, run} from './sql.ts';

test('the DDL: schema and table, both only when missing', () => {
  expect(clientsTableDDL('zync_app')).toEqual([
    'CREATE SCHEMA IF NOT EXISTS "zync_app"',
    `CREATE TABLE IF NOT EXISTS "zync_app"."clients" (
      "clientGroupID" TEXT NOT NULL,
      "clientID" TEXT NOT NULL,
      "lastMutationID" BIGINT NOT NULL,
      PRIMARY KEY ("clientGroupID", "clientID"))`,
  ]);
});

describe('ensureClientsTable', () => {
  let url: string;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    url = await createTestDatabase('pglayer_clients_ddl');
  });
  afterAll(() => Promise.all(pools.map(p => p.end())));

  test('many processes creating it at once all succeed', async () => {
    // One connection each, as separate processes would have; started together so that
    // their CREATEs race in the catalog.
    const clients = await Promise.all(
      Array.from({length: 8}, async () => {
        const c = new pg.Pool({connectionString: url, max: 1});
        pools.push(c);
        await c.query('SELECT 1');
        return c;
      }),
    );
    await Promise.all(clients.map(c => ensureClientsTable('zync_race', s => c.query(s))));
    const {rows} = await clients[0]!.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'zync_race' AND tablename = 'clients'`,
    );
    expect(rows).toEqual([{n: 1}]);
  });

  test('an error that is not a lost race is passed on', async () => {
    const failure = Object.assign(new Error('permission denied'), {code: '42501'});
    let calls = 0;
    await expect(
      ensureClientsTable('zync_x', () => {
        calls++;
        return Promise.reject(failure);
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  test('a race lost more than three times in a row is passed on', async () => {
    const race = Object.assign(new Error('duplicate'), {code: '42P07'});
    let calls = 0;
    await expect(
      ensureClientsTable('zync_x', () => {
        calls++;
        return Promise.reject(race);
      }),
    ).rejects.toBe(race);
    expect(calls).toBe(4);
  });
});

describe.each(drivers)('last mutation ids on %s', (_name, open) => {
  let driver: Driver;
  const schema = 'zync_app';

  beforeAll(async () => {
    driver = open(await createTestDatabase('pglayer_clients'));
    await ensureClientsTable(schema, s => driver.db.query(s));
  });
  afterAll(() => driver.end());

  const stored = async (group: string) =>
    Object.fromEntries(
      (
        await driver.db.query<{c: string; l: string}>(
          `SELECT "clientID" AS c, "lastMutationID"::text AS l FROM zync_app.clients
           WHERE "clientGroupID" = $1 ORDER BY 1`,
          [group],
        )
      ).rows.map(r => [r.c, Number(r.l)]),
    );

  test('bump starts a client at 1 and adds one each time, as a parameterised statement or inlined', async () => {
    const bump = bumpLastMutationIDSql(schema, 'g1', "o'brien\\1");
    expect(await run(driver.db, bump)).toEqual([{lmid: '1'}]);
    expect((await driver.db.query(inlineSql(bump))).rows).toEqual([{lmid: '2'}]);
    expect(await stored('g1')).toEqual({"o'brien\\1": 2});
  });

  test('concurrent bumps of one client each see their own next id', async () => {
    const bump = bumpLastMutationIDSql(schema, 'g2', 'c');
    const got = await Promise.all(
      Array.from({length: 5}, () => driver.transaction(tx => run<{lmid: string}>(tx, bump))),
    );
    expect(got.map(r => Number(r[0]?.lmid)).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  test('lock inserts missing clients at 0 and reads them; write records new ids', async () => {
    await driver.db.query(inlineSql(bumpLastMutationIDSql(schema, 'g3', 'b')));
    const ids = ['c', 'b', 'a'];
    const read = await driver.transaction(async tx => {
      const [insert, select] = lockLastMutationIDsSql(schema, 'g3', ids);
      await run(tx, insert!);
      const rows = await run(tx, select!);
      expect(rows.map(r => r['id'])).toEqual(['a', 'b', 'c']); // locked in id order
      const lmids = lastMutationIDsOf(rows, ids);
      for (const q of writeLastMutationIDsSql(
        schema,
        'g3',
        new Map([
          ['a', 4],
          ['c', 2],
        ]),
      )) {
        await run(tx, q);
      }
      return lmids;
    });
    expect(Object.fromEntries(read)).toEqual({a: 0, b: 1, c: 0});
    expect(await stored('g3')).toEqual({a: 4, b: 1, c: 2});
  });

  test('inlined, lock and write go as one simple query each', async () => {
    const lock = inlineStatements(lockLastMutationIDsSql(schema, 'g4', ['x', 'y']));
    const write = inlineStatements(writeLastMutationIDsSql(schema, 'g4', new Map([['y', 7]])));
    await driver.transaction(async tx => {
      await tx.query(lock);
      await tx.query(write);
    });
    expect(await stored('g4')).toEqual({x: 0, y: 7});
    expect(lastMutationIDsOf([], ['x'])).toEqual(new Map([['x', 0]]));
    expect(lockLastMutationIDsSql(schema, 'g4', [])).toEqual([]);
  });
});
