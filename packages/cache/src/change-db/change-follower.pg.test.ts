// A follower fed by the change log in Postgres ends up with the manager's replica: rows,
// table metadata and change-log entries, one whole upstream transaction at a time.
import Database from 'better-sqlite3';
import type pg from 'pg';
import {afterEach, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {
  changelogAfter,
  reach,
  replicaContents,
  startFollower,
  startManager,
  type Manager,
} from '../../test/change-db-helpers.ts';
import {
  captureLogger,
  catchUp,
  pgClient,
  tempReplicaFile,
  uniqueAppId,
} from '../../test/replicator-helpers.ts';
import {vacuumSnapshots} from '../../test/vacuum-snapshots.ts';
import {ChangeFollower} from './change-follower.ts';
import {ChangeLogWriter} from './change-log-writer.ts';
import {decodeRowOps, type ChangeLogSink} from './row-ops.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(sink?: (w: ChangeLogSink) => ChangeLogSink) {
  const url = await createTestDatabase('cdc');
  const c = await pgClient(url);
  cleanup.push(() => c.end());
  await c.query(`CREATE TABLE item (id int8 PRIMARY KEY, name text, tags jsonb, on_sale bool)`);
  await c.query(`CREATE TABLE pair (a text, b int, v float8, PRIMARY KEY (a, b))`);
  await c.query(`INSERT INTO item VALUES (1, 'one', '["x"]', true), (2, 'two', null, false)`);
  // catchUp's marker table, made now: a table added later makes followers take a snapshot
  await c.query(`CREATE TABLE _marker (id int PRIMARY KEY, n int)`);
  const appId = uniqueAppId();
  const m = await startManager(url, appId, sink ? {sink} : {});
  cleanup.push(() => m.stop());
  return {url, c, appId, m};
}

async function follow(url: string, appId: string, m: Manager, opts = {}) {
  const f = await startFollower(url, appId, m.file, opts);
  cleanup.push(() => f.follower.stop());
  return f;
}

async function synced(c: pg.Client, m: Manager, f: ChangeFollower): Promise<void> {
  await catchUp(c, m.replicator);
  await reach(f, m.replicator.version);
}

test('upstream writes reach the follower: same rows, metadata and change log as the manager', async () => {
  const {url, c, appId, m} = await setup();
  const {follower, file, snapshots} = await follow(url, appId, m);
  expect(snapshots.count()).toBe(1);
  const start = follower.version;
  expect(start).toBe(m.replicator.version);

  await c.query(`INSERT INTO item VALUES (9007199254740993, 'big', '{"a":[1,2]}', null)`);
  await c.query(`UPDATE item SET name = 'uno' WHERE id = 1`);
  await c.query(`UPDATE item SET id = 3 WHERE id = 2`); // a key change: del + set
  await c.query(`INSERT INTO pair VALUES ('a', 1, 1.5), ('a', 2, -0.25), ('b', 1, 1e300)`);
  await c.query(`DELETE FROM pair WHERE a = 'a' AND b = 2`);
  await c.query(`BEGIN; TRUNCATE pair; INSERT INTO pair VALUES ('z', 0, 0); COMMIT`);
  await c.query(`DELETE FROM item WHERE id = 1`);
  await synced(c, m, follower);

  expect(follower.version).toBe(m.replicator.version);
  expect(replicaContents(file)).toEqual(replicaContents(m.file));
  expect(snapshots.count()).toBe(1); // replayed, not copied
  const state = (f: string) => {
    const db = new Database(f, {readonly: true});
    try {
      return db
        .prepare(
          `SELECT version, lsn, app_id, slot, initial_version AS initial FROM _zync_replication_state`,
        )
        .get();
    } finally {
      db.close();
    }
  };
  expect(state(file)).toEqual(state(m.file));
  const entries = changelogAfter(file, start);
  expect(entries.length).toBeGreaterThan(8);
  expect(entries).toEqual(changelogAfter(m.file, start));

  // The Postgres rows hold what the follower replayed, after the initial copy's reset.
  const {rows} = await c.query<{version: string; ops: Buffer; reset: boolean}>(
    `SELECT version, ops, reset FROM "zync_${appId}_cdc".changes ORDER BY version`,
  );
  const initial = (state(m.file) as {initial: string}).initial;
  expect(rows[0]).toMatchObject({version: initial, reset: true});
  expect(decodeRowOps(rows[0]!.ops)).toEqual([]);
  expect(rows.slice(1).every(r => !r.reset)).toBe(true);
  const ops = rows.flatMap(r => decodeRowOps(r.ops));
  expect(ops).toContainEqual({
    op: 'set',
    table: 'item',
    columns: ['id', 'name', 'tags', 'on_sale'],
    values: [9007199254740993n, 'big', '{"a": [1, 2]}', null],
  });
  expect(ops).toContainEqual({op: 'truncate', table: 'pair'});
  expect(ops).toContainEqual({op: 'del', table: 'item', columns: ['id'], values: [2]});
});

test('a subscriber never sees a version whose transaction is partly applied', async () => {
  const {url, c, appId, m} = await setup();
  await c.query(`CREATE TABLE batch (id int PRIMARY KEY, b int NOT NULL, n int NOT NULL)`);
  // the table reaches the replica with its first change (a change of shape: a snapshot)
  await c.query(`INSERT INTO batch VALUES (0, 0, 0); DELETE FROM batch`);
  await catchUp(c, m.replicator);
  const {follower, file} = await follow(url, appId, m, {batchSize: 3});
  const reader = new Database(file, {readonly: true});
  cleanup.push(() => Promise.resolve(void reader.close()));
  const seen: {version: string; sizes: number[]; ns: number[]}[] = [];
  follower.subscribe(version => {
    const sizes = reader
      .prepare(`SELECT count(*) FROM batch GROUP BY b ORDER BY b`)
      .pluck()
      .all() as number[];
    const ns = reader.prepare(`SELECT DISTINCT n FROM batch`).pluck().all() as number[];
    seen.push({version, sizes, ns});
  });
  for (let b = 0; b < 12; b++) {
    await c.query('BEGIN');
    await c.query(`INSERT INTO batch SELECT $1 * 100 + i, $1, 0 FROM generate_series(1, 25) i`, [
      b,
    ]);
    await c.query(`UPDATE batch SET n = $1 + 1`, [b]);
    await c.query('COMMIT');
  }
  await synced(c, m, follower);

  const batchVersions = seen.filter(s => s.sizes.length > 0);
  expect(batchVersions.length).toBeGreaterThanOrEqual(12);
  for (const s of batchVersions) {
    // every batch whole, and every row updated by the latest transaction
    expect(s.sizes.every(n => n === 25)).toBe(true);
    expect(s.ns).toEqual([s.sizes.length]);
  }
  expect(new Set(seen.map(s => s.version)).size).toBe(seen.length);
  expect(replicaContents(file)).toEqual(replicaContents(m.file));
});

test('a manager crash between the change-log insert and the replica commit duplicates nothing', async () => {
  // The sink stores the third transaction, then never lets the replica commit it.
  let appends = 0;
  let crashed!: () => void;
  const stored = new Promise<void>(r => (crashed = r));
  const {url, c, appId, m} = await setup(w => ({
    append: async (version, ops, reset) => {
      await w.append(version, ops, reset);
      if (++appends === 3) {
        crashed();
        await new Promise<never>(() => {});
      }
    },
    committed: v => w.committed(v),
  }));
  const {follower, file} = await follow(url, appId, m);
  const versions: string[] = [];
  follower.subscribe(v => versions.push(v));
  for (let i = 10; i < 15; i++) await c.query(`INSERT INTO item VALUES ($1, 'n', null, true)`, [i]);
  await stored;
  const before = m.replicator.version;
  await m.replicator.stop();
  const cdc = `"zync_${appId}_cdc"`;
  const {rows: stuck} = await c.query<{version: string}>(
    `SELECT version FROM ${cdc}.changes WHERE version > $1 ORDER BY version`,
    [before],
  );
  // In Postgres, not in the manager's replica; the follower has it already.
  expect(stuck).toHaveLength(1);
  await reach(follower, stuck[0]!.version);

  // The manager restarts on its replica; the slot streams the transaction again.
  const again = await startManager(url, appId, {file: m.file});
  cleanup.push(() => again.stop());
  await c.query(`INSERT INTO item VALUES (99, 'after', null, false)`);
  await synced(c, again, follower);

  expect(replicaContents(file)).toEqual(replicaContents(m.file));
  expect(changelogAfter(file, '')).toEqual(changelogAfter(m.file, ''));
  expect(new Set(versions).size).toBe(versions.length);
  const {rows} = await c.query<{version: string}>(
    `SELECT version FROM ${cdc}.changes ORDER BY version`,
  );
  const logged = new Set((changelogAfter(m.file, '') as {version: string}[]).map(e => e.version));
  // one change row per replica version, the re-streamed one included once
  expect(rows.map(r => r.version).filter(v => logged.has(v))).toEqual([...logged].sort());
  expect(rows.filter(r => r.version === stuck[0]!.version)).toHaveLength(1);
});

test('a snapshot of another app id stops the follower with the fix', async () => {
  const {url, m} = await setup();
  const other = uniqueAppId();
  const w = new ChangeLogWriter({changeDbUrl: url, appId: other, lc: captureLogger()});
  await w.init();
  cleanup.push(() => w.close());
  const f = new ChangeFollower({
    changeDbUrl: url,
    appId: other,
    replicaFile: tempReplicaFile(),
    nodeId: 'n1',
    lc: captureLogger(),
    snapshots: vacuumSnapshots(m.file),
  });
  await expect(f.run()).rejects.toThrow(/set the same ZERO_APP_ID on every node/);
  await expect(f.ready).rejects.toThrow(/ZERO_APP_ID/);
});

test('the follower prunes its change log by age, as the replicator does', async () => {
  const {url, c, appId, m} = await setup();
  // The change log's age is measured on a clock the test moves.
  let now = 1_000_000;
  const {follower, file} = await follow(url, appId, m, {
    changeLogRetentionMs: 300,
    changeLogPruneIntervalMs: 100,
    now: () => now,
  });
  const db = new Database(file, {readonly: true});
  cleanup.push(() => Promise.resolve(void db.close()));
  const floor = () =>
    db.prepare(`SELECT changelog_floor FROM _zync_replication_state`).pluck().get() as string;
  const floor0 = floor();
  await c.query(`INSERT INTO item VALUES (100, 'old', null, true)`);
  await synced(c, m, follower);
  const old = follower.version;
  expect(floor()).toBe(floor0);

  now += 400;
  await c.query(`INSERT INTO item VALUES (101, 'new', null, true)`);
  await synced(c, m, follower);
  const f = floor();
  expect(f > floor0 && f <= old).toBe(true);
  const left = db.prepare(`SELECT version FROM _zync_changelog`).pluck().all() as string[];
  expect(left.length).toBeGreaterThan(0);
  expect(left.every(v => v > f)).toBe(true);
});
