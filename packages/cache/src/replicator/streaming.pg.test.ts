import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {openReplica} from '../replica/open-replica.ts';
import {
  catchUp,
  pgClient,
  readReplicaTable,
  startReplicator,
  tempReplicaFile,
  uniqueAppId,
} from '../../test/replicator-helpers.ts';
import type {Replicator} from './replicator.ts';

const running: Replicator[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

async function upstreamRows(c: Awaited<ReturnType<typeof pgClient>>, table: string) {
  const {rows} = await c.query(`SELECT * FROM ${table} ORDER BY id`);
  return rows as Record<string, unknown>[];
}

function sorted(rows: Record<string, unknown>[]) {
  return [...rows].sort((a, b) => Number(a['id']) - Number(b['id']));
}

test('10k single-row transactions, then one 50k-row transaction', async () => {
  const url = await createTestDatabase('burst');
  const setup = await pgClient(url);
  await setup.query(`CREATE TABLE b (id int PRIMARY KEY, v text)`);
  const file = tempReplicaFile();
  const r = await startReplicator(url, file);
  running.push(r);
  const versions: string[] = [];
  r.subscribe(v => versions.push(v));
  const clients = await Promise.all([1, 2, 3, 4].map(() => pgClient(url)));
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = k; i < 10_000; i += 4) {
        await c.query(
          i % 7 === 3
            ? `DELETE FROM b WHERE id = $1`
            : `INSERT INTO b VALUES ($1::int, 'v' || $1::text)`,
          [i % 7 === 3 ? i - 1 : i],
        );
      }
    }),
  );
  await setup.query(`INSERT INTO b SELECT i, 'big' FROM generate_series(10000, 59999) i`);
  await catchUp(setup, r);
  expect(sorted(readReplicaTable(file, 'b'))).toEqual(await upstreamRows(setup, 'b'));
  // each upstream transaction became one replica version, in order
  expect(versions.length).toBeGreaterThan(8_000); // deletes of absent rows change nothing
  expect([...versions].sort()).toEqual(versions);
  const rep = openReplica(file);
  const log = rep.db
    .prepare(`SELECT count(*) AS n FROM _zync_changelog WHERE version = ?`)
    .get(versions[versions.length - 2]) as {n: number};
  expect(log.n).toBe(50_000);
  rep.close();
  for (const c of clients) await c.end();
  await setup.end();
});

test('added columns and tables appear without restart; renames and truncates apply', async () => {
  const url = await createTestDatabase('ddl');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE a (id int PRIMARY KEY, x text)`);
  await c.query(`INSERT INTO a VALUES (1, 'one'), (2, 'two')`);
  await c.query(`CREATE TABLE nopk (x int)`);
  const lines: string[] = [];
  const file = tempReplicaFile();
  const r = await startReplicator(url, file, undefined, lines);
  running.push(r);
  expect(lines.some(l => l.includes('no primary key') && l.includes('nopk'))).toBe(true);

  await c.query(`ALTER TABLE a ADD COLUMN y int DEFAULT 7`);
  await c.query(`INSERT INTO a VALUES (3, 'three', 9)`);
  await c.query(`CREATE TABLE later (id text PRIMARY KEY, n int)`);
  await c.query(`INSERT INTO later VALUES ('k', 1)`);
  await c.query(`INSERT INTO nopk VALUES (1)`);
  await catchUp(c, r);
  expect(sorted(readReplicaTable(file, 'a'))).toEqual([
    {id: 1, x: 'one', y: 7},
    {id: 2, x: 'two', y: 7},
    {id: 3, x: 'three', y: 9},
  ]);
  expect(readReplicaTable(file, 'later')).toEqual([{id: 'k', n: 1}]);
  const rep = openReplica(file);
  expect(rep.tables().get('a')?.columns['y']).toEqual({kind: 'number', pgType: 'int4'});
  expect(rep.tables().has('nopk')).toBe(false);
  const resets = rep.db
    .prepare(`SELECT tbl FROM _zync_changelog WHERE op = 'reset' ORDER BY tbl`)
    .all() as {tbl: string}[];
  expect(resets.map(x => x.tbl)).toEqual(expect.arrayContaining(['a', 'later']));
  rep.close();

  await c.query(`ALTER TABLE later RENAME TO renamed`);
  await c.query(`ALTER TABLE a DROP COLUMN x`);
  await c.query(`UPDATE renamed SET n = 2`);
  await c.query(`UPDATE a SET y = 8 WHERE id = 1`);
  await c.query(`TRUNCATE a`);
  await c.query(`INSERT INTO a VALUES (4, 4)`);
  await catchUp(c, r);
  expect(readReplicaTable(file, 'renamed')).toEqual([{id: 'k', n: 2}]);
  expect(readReplicaTable(file, 'a')).toEqual([{id: 4, y: 4}]);
  await c.end();
});

test('two app ids replicate from one database side by side', async () => {
  const url = await createTestDatabase('apps');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE s (id int PRIMARY KEY)`);
  await c.query(`INSERT INTO s VALUES (1)`);
  const app = uniqueAppId();
  const f1 = tempReplicaFile();
  const f2 = tempReplicaFile();
  const r1 = await startReplicator(url, f1, `${app}_one`);
  const r2 = await startReplicator(url, f2, `${app}_two`);
  running.push(r1, r2);
  await c.query(`INSERT INTO s VALUES (2)`);
  await catchUp(c, r1);
  await catchUp(c, r2);
  expect(sorted(readReplicaTable(f1, 's'))).toEqual([{id: 1}, {id: 2}]);
  expect(sorted(readReplicaTable(f2, 's'))).toEqual([{id: 1}, {id: 2}]);
  const {rows} = await c.query<{slot_name: string}>(
    `SELECT slot_name FROM pg_replication_slots ORDER BY 1`,
  );
  expect(rows.map(x => x.slot_name)).toEqual(
    expect.arrayContaining([`zync_${app}_one_slot`, `zync_${app}_two_slot`]),
  );
  await c.end();
});
