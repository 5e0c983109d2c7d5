// Postgres goes away and comes back: the follower keeps serving its replica meanwhile, then
// reconnects and catches up with what the manager wrote after the restart.
import Database from 'better-sqlite3';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {expect, test} from 'vitest';
import {startEmbeddedPostgres} from '../../../../scripts/embedded-postgres.ts';
import {freePort} from '../../../../test/free-port.ts';
import {reach, replicaContents, startFollower, startManager} from '../../test/change-db-helpers.ts';
import {catchUp, pgClient} from '../../test/replicator-helpers.ts';

const FLAGS = ['-c', 'wal_level=logical', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'];

test('after a Postgres restart the follower reconnects and catches up', async () => {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'zync-cdc-pg-'));
  let server = await startEmbeddedPostgres({port, dataDir, flags: FLAGS});
  const stops: (() => Promise<void>)[] = [];
  try {
    const url = server.url();
    let c = await pgClient(url);
    await c.query(`CREATE TABLE item (id int PRIMARY KEY, name text)`);
    await c.query(`CREATE TABLE _marker (id int PRIMARY KEY, n int)`);
    await c.query(`INSERT INTO item VALUES (1, 'one')`);
    const m = await startManager(url, 'restart');
    stops.push(() => m.stop());
    const {follower, file, snapshots} = await startFollower(url, 'restart', m.file, {
      pollIntervalMs: 100,
    });
    stops.push(() => follower.stop());
    await c.query(`INSERT INTO item VALUES (2, 'two')`);
    await catchUp(c, m.replicator);
    await reach(follower, m.replicator.version);
    await c.end();

    await server.stop();
    // Served all the while: the replica stays readable at its version.
    const reader = new Database(file, {readonly: true});
    stops.push(() => Promise.resolve(void reader.close()));
    expect(reader.prepare(`SELECT count(*) FROM item`).pluck().get()).toBe(2);
    const during = follower.version;
    server = await startEmbeddedPostgres({port, dataDir, flags: FLAGS});

    c = await pgClient(url);
    stops.push(() => c.end());
    for (let i = 3; i < 8; i++) await c.query(`INSERT INTO item VALUES ($1, 'after')`, [i]);
    await catchUp(c, m.replicator);
    await reach(follower, m.replicator.version);
    expect(follower.version > during).toBe(true);
    expect(reader.prepare(`SELECT count(*) FROM item`).pluck().get()).toBe(7);
    expect(replicaContents(file)).toEqual(replicaContents(m.file));
    expect(snapshots.count()).toBe(1); // caught up from the log, no snapshot needed
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    await server.stop();
    rmSync(server.dataDir, {recursive: true, force: true});
    rmSync(dataDir, {recursive: true, force: true});
  }
});
