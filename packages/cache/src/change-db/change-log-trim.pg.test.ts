// Trimming the change log in Postgres, and followers that must take a snapshot: one that
// fell behind the trim point, one that meets a change of the replica's shape. The snapshot
// is restored into the live replica file while other connections hold it open.
import Database from 'better-sqlite3';
import {afterEach, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {reach, replicaContents, startFollower, startManager} from '../../test/change-db-helpers.ts';
import {catchUp, pgClient, uniqueAppId} from '../../test/replicator-helpers.ts';
import {capturingLogger} from '../../test/snapshot-fixture.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const url = await createTestDatabase('trim');
  const c = await pgClient(url);
  cleanup.push(() => c.end());
  await c.query(`CREATE TABLE item (id int PRIMARY KEY, name text)`);
  await c.query(`CREATE TABLE _marker (id int PRIMARY KEY, n int)`);
  await c.query(`INSERT INTO item VALUES (1, 'one')`);
  const appId = uniqueAppId();
  const m = await startManager(url, appId);
  cleanup.push(() => m.stop());
  return {url, c, appId, m, cdc: `"zync_${appId}_cdc"`};
}

test('trimming waits for the slowest live node and ignores a timed-out one', async () => {
  const {c, m, cdc} = await setup();
  for (let i = 2; i < 8; i++) await c.query(`INSERT INTO item VALUES ($1, 'x')`, [i]);
  await catchUp(c, m.replicator);
  const all = async () =>
    (
      await c.query<{version: string}>(`SELECT version FROM ${cdc}.changes ORDER BY version`)
    ).rows.map(r => r.version);
  const versions = await all();
  expect(versions.length).toBeGreaterThanOrEqual(8);
  await c.query(
    `INSERT INTO ${cdc}.nodes VALUES ('slow', $1, now()), ('dead', $2, now() - interval '5 minutes')`,
    [versions[3], versions[1]],
  );

  const first = await m.writer.trim(60_000);
  expect(first).toMatchObject({trimmedThrough: versions[3], deleted: 4, liveNodes: 1});
  expect(await all()).toEqual(versions.slice(4));
  expect((await c.query(`SELECT trimmed_through FROM ${cdc}.meta`)).rows).toEqual([
    {trimmed_through: versions[3]},
  ]);

  // The slow node catches up: the log goes up to the manager's replica, not past it.
  await c.query(`UPDATE ${cdc}.nodes SET version = 'ffffffffffffffff' WHERE node_id = 'slow'`);
  const second = await m.writer.trim(60_000);
  expect(second.trimmedThrough).toBe(m.replicator.version);
  expect((await all()).every(v => v > m.replicator.version)).toBe(true);

  // A node that comes back at an old version does not move the trim point back.
  await c.query(`UPDATE ${cdc}.nodes SET version = $1 WHERE node_id = 'slow'`, [versions[0]]);
  expect((await m.writer.trim(60_000)).trimmedThrough).toBe(m.replicator.version);

  // Nodes unseen for ten timeouts are forgotten.
  await m.writer.trim(1_000);
  expect((await c.query(`SELECT node_id FROM ${cdc}.nodes`)).rows).toEqual([{node_id: 'slow'}]);
});

test('startTrimming trims on its interval', async () => {
  const {c, m, cdc} = await setup();
  await c.query(`INSERT INTO item VALUES (2, 'two')`);
  await catchUp(c, m.replicator);
  m.writer.startTrimming({nodeTimeoutMs: 60_000, intervalMs: 20});
  const meta = async () =>
    (await c.query<{trimmed_through: string}>(`SELECT trimmed_through FROM ${cdc}.meta`)).rows[0]!
      .trimmed_through;
  await expect.poll(meta).toBe(m.replicator.version);
  expect((await c.query(`SELECT 1 FROM ${cdc}.changes`)).rowCount).toBe(0);
  // and again after the next commit
  await c.query(`INSERT INTO item VALUES (3, 'three')`);
  await catchUp(c, m.replicator);
  await expect.poll(meta).toBe(m.replicator.version);
});

test('a follower behind the trim point restores a snapshot under an open reader', async () => {
  const {url, c, appId, m, cdc} = await setup();
  // The follower logs in as its own role, so that its access can be taken away and given back.
  const role = `follower_${appId}`;
  await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
  const grant = `GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ${cdc} TO ${role}`;
  await c.query(`GRANT USAGE ON SCHEMA ${cdc} TO ${role}; ${grant}`);
  const asRole = new URL(url);
  asRole.username = role;
  asRole.password = 'pw';
  const {follower, file, snapshots} = await startFollower(asRole.toString(), appId, m.file, {
    pollIntervalMs: 50,
  });
  cleanup.push(() => follower.stop());
  await c.query(`INSERT INTO item VALUES (2, 'two')`);
  await catchUp(c, m.replicator);
  await reach(follower, m.replicator.version);
  const before = follower.version;

  const reader = new Database(file, {readonly: true});
  const pinned = new Database(file, {readonly: true});
  cleanup.push(() => Promise.resolve(void (reader.close(), pinned.close())));
  const count = (db: Database.Database) =>
    db.prepare(`SELECT count(*) FROM item`).pluck().get() as number;
  pinned.exec('BEGIN');
  expect(count(pinned)).toBe(2);

  // Cut off, the follower keeps its replica; the manager trims past it.
  await c.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${cdc} FROM ${role}`);
  for (let i = 3; i < 10; i++) await c.query(`INSERT INTO item VALUES ($1, 'more')`, [i]);
  await catchUp(c, m.replicator);
  await c.query(`UPDATE ${cdc}.nodes SET seen_at = now() - interval '1 hour'`);
  const {trimmedThrough} = await m.writer.trim(60_000);
  expect(trimmedThrough).toBe(m.replicator.version);
  expect(follower.version).toBe(before);
  expect(count(reader)).toBe(2);

  await c.query(grant);
  await reach(follower, m.replicator.version);
  expect(snapshots.count()).toBe(2);
  expect(count(reader)).toBe(9);
  expect(count(pinned)).toBe(2); // its read transaction still sees the state it began on
  pinned.exec('COMMIT');
  expect(count(pinned)).toBe(9);
  expect(reader.pragma('journal_mode', {simple: true})).toBe('wal');
  expect(replicaContents(file)).toEqual(replicaContents(m.file));

  // And it follows the log again, without another snapshot.
  await c.query(`UPDATE item SET name = 'changed' WHERE id = 1`);
  await catchUp(c, m.replicator);
  await reach(follower, m.replicator.version);
  expect(snapshots.count()).toBe(2);
  expect(replicaContents(file)).toEqual(replicaContents(m.file));
  // Forgotten by the trim (unseen for an hour), it reports itself again.
  await expect
    .poll(async () => (await c.query<{version: string}>(`SELECT version FROM ${cdc}.nodes`)).rows)
    .toEqual([{version: m.replicator.version}]);
});

test('a column added upstream makes the follower restore a snapshot; open readers see it', async () => {
  const {url, c, appId, m} = await setup();
  const log = capturingLogger();
  const {follower, file} = await startFollower(url, appId, m.file, {lc: log.logger});
  cleanup.push(() => follower.stop());
  // Snapshots taken, not fetched: the manager stores a change in the log before its replica
  // commits it, so a snapshot fetched at once may be from before the reset; the follower
  // refuses it and fetches again.
  const taken = () => log.lines.filter(l => l.includes('snapshot downloaded'));
  expect(taken()).toHaveLength(1);
  const reader = new Database(file, {readonly: true});
  cleanup.push(() => Promise.resolve(void reader.close()));
  expect(reader.prepare(`SELECT name FROM item`).pluck().all()).toEqual(['one']);

  await c.query(`ALTER TABLE item ADD COLUMN color text DEFAULT 'red'`);
  await c.query(`INSERT INTO item VALUES (2, 'two', 'blue')`);
  await catchUp(c, m.replicator);
  await reach(follower, m.replicator.version);

  expect(taken()).toHaveLength(2);
  expect(reader.prepare(`SELECT id, color FROM item ORDER BY id`).raw().all()).toEqual([
    [1, 'red'],
    [2, 'blue'],
  ]);
  // the 'reset' entry reached the replica's change log with the snapshot
  const resets = reader
    .prepare(`SELECT count(*) FROM _zync_changelog WHERE op = 'reset' AND tbl = 'item'`)
    .pluck()
    .get() as number;
  expect(resets).toBe(1);

  await c.query(`UPDATE item SET color = 'green' WHERE id = 1`);
  await catchUp(c, m.replicator);
  await reach(follower, m.replicator.version);
  expect(taken()).toHaveLength(2);
  expect(replicaContents(file)).toEqual(replicaContents(m.file));
});
