import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {
  catchUp,
  pgClient,
  readReplicaTable,
  replicaDb,
  startReplicator,
  tempReplicaFile,
  uniqueAppId,
} from '../../test/replicator-helpers.ts';
import type {Replicator} from './replicator.ts';

const running: Replicator[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

/** The replica's explicit indexes of `table`: name -> indexed columns. */
function replicaIndexes(file: string, table: string): Record<string, string[]> {
  const db = replicaDb(file);
  try {
    const rows = db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
      )
      .all(table) as {name: string}[];
    return Object.fromEntries(
      rows.map(r => [
        r.name,
        (db.pragma(`index_info("${r.name}")`) as {name: string}[]).map(c => c.name),
      ]),
    );
  } finally {
    db.close();
  }
}

test('upstream secondary indexes are mirrored on the initial copy and for later tables', async () => {
  const url = await createTestDatabase('indexes');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE fan (id int PRIMARY KEY, owner int, created float8, title text)`);
  await c.query(`CREATE INDEX ON fan (owner)`);
  await c.query(`CREATE INDEX ON fan (created, owner)`);
  await c.query(`CREATE INDEX ON fan (lower(title))`); // expression: skipped
  await c.query(`CREATE INDEX ON fan (title) WHERE owner > 0`); // partial: skipped
  await c.query(`CREATE UNIQUE INDEX ON fan (id)`); // the primary key already orders by id
  await c.query(`INSERT INTO fan SELECT i, i % 10, i, 't' || i FROM generate_series(1, 1000) i`);

  const file = tempReplicaFile();
  const r = await startReplicator(url, file, uniqueAppId());
  running.push(r);
  expect(replicaIndexes(file, 'fan')).toEqual({
    fan__owner: ['owner', 'id'],
    fan__created_owner: ['created', 'owner', 'id'],
  });
  const db = replicaDb(file);
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN SELECT * FROM fan WHERE owner = 3 ORDER BY id`)
    .all() as {detail: string}[];
  db.close();
  expect(plan.map(p => p.detail).join('\n')).toContain('fan__owner');

  // a table created while streaming
  await c.query(`CREATE TABLE later (a text, b int, n int, PRIMARY KEY (a, b))`);
  await c.query(`CREATE INDEX ON later (n)`);
  await c.query(`CREATE INDEX ON later (b)`);
  await c.query(`INSERT INTO later VALUES ('x', 1, 5)`);
  await catchUp(c, r);
  expect(readReplicaTable(file, 'later')).toEqual([{a: 'x', b: 1, n: 5}]);
  expect(replicaIndexes(file, 'later')).toEqual({
    later__n: ['n', 'a', 'b'],
    later__b: ['b', 'a'],
  });

  // dropping an indexed column upstream still replicates (the mirrored index goes too)
  await c.query(`ALTER TABLE fan DROP COLUMN created`);
  await c.query(`UPDATE fan SET title = 'changed' WHERE id = 1`);
  await catchUp(c, r);
  expect(replicaIndexes(file, 'fan')).toEqual({fan__owner: ['owner', 'id']});
  const row = readReplicaTable(file, 'fan').find(x => x['id'] === 1);
  expect(row).toEqual({id: 1, owner: 1, title: 'changed'});
  await c.end();
});
