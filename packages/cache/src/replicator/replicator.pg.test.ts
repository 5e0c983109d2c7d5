import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {
  catchUp,
  pgClient,
  readReplicaTable,
  startReplicator,
  tempReplicaFile,
} from '../../test/replicator-helpers.ts';
import type {Replicator} from './replicator.ts';

const running: Replicator[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

test('initial copy of 100k rows equals the source, then streams changes', async () => {
  const url = await createTestDatabase('copy');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE items (id int PRIMARY KEY, name text, score float8)`);
  await c.query(
    `INSERT INTO items SELECT i, 'name ' || i || E'\\t\\n\\\\x', i * 0.5 FROM generate_series(1, 100000) i`,
  );
  const file = tempReplicaFile();
  const r = await startReplicator(url, file);
  running.push(r);
  const rows = readReplicaTable(file, 'items');
  expect(rows.length).toBe(100000);
  const byId = new Map(rows.map(x => [x['id'], x]));
  expect(byId.get(77)).toEqual({id: 77, name: 'name 77\t\n\\x', score: 38.5});

  await c.query(`INSERT INTO items VALUES (100001, 'new', 1)`);
  await c.query(`UPDATE items SET name = 'changed' WHERE id = 5`);
  await c.query(`DELETE FROM items WHERE id = 6`);
  await c.query(`UPDATE items SET id = 200000 WHERE id = 7`);
  await catchUp(c, r);
  const after = new Map(readReplicaTable(file, 'items').map(x => [x['id'], x]));
  expect(after.size).toBe(100000);
  expect(after.get(100001)).toEqual({id: 100001, name: 'new', score: 1});
  expect(after.get(5)?.['name']).toBe('changed');
  expect(after.has(6)).toBe(false);
  expect(after.has(7)).toBe(false);
  expect(after.get(200000)?.['name']).toBe('name 7\t\n\\x');
  await c.end();
});

test('while idle, the slot moves up past WAL that is not ours (answered in batches)', async () => {
  const url = await createTestDatabase('idle');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE items (id int PRIMARY KEY)`);
  const r = await startReplicator(url);
  running.push(r);
  // WAL that no published table is in: upstream keepalives announce it, and the slot may
  // move past it once everything before is in the replica.
  let lsn = '';
  for (let i = 0; i < 20; i++) {
    const {rows} = await c.query<{lsn: string}>(
      `SELECT pg_logical_emit_message(false, 'bench', 'x')::text AS lsn`,
    );
    lsn = rows[0]!.lsn;
  }
  const behind = async () => {
    const {rows} = await c.query<{d: string}>(
      `SELECT pg_wal_lsn_diff($1::pg_lsn, confirmed_flush_lsn)::text AS d
       FROM pg_replication_slots WHERE database = current_database()`,
      [lsn],
    );
    return Number(rows[0]!.d);
  };
  const deadline = Date.now() + 20_000;
  while ((await behind()) > 0) {
    if (Date.now() > deadline) throw new Error(`slot still ${await behind()} bytes behind`);
    await new Promise(res => setTimeout(res, 50));
  }
  expect(await behind()).toBeLessThanOrEqual(0);
  await c.end();
});
