// A snapshot of the replica a real Replicator keeps, served while the Replicator runs.
import {dirname, join} from 'node:path';
import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {
  captureLogger,
  catchUp,
  pgClient,
  readReplicaTable,
  startReplicator,
  tempReplicaFile,
} from '../../test/replicator-helpers.ts';
import {openReplica} from '../replica/open-replica.ts';
import type {Replicator} from '../replicator/replicator.ts';
import {downloadSnapshot} from './snapshot-client.ts';
import {startSnapshotServer} from './snapshot-server.ts';

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

test('a snapshot of a running replicator’s replica equals the replica at its version', async () => {
  const url = await createTestDatabase('snapshot');
  const c = await pgClient(url);
  stops.push(() => c.end());
  await c.query(
    `CREATE TABLE issue (id text PRIMARY KEY, title text, priority int4, open bool, meta jsonb)`,
  );
  await c.query(
    `INSERT INTO issue SELECT 'i' || n, 'Issue ' || n, n % 5, n % 2 = 0, jsonb_build_object('n', n)
       FROM generate_series(1, 5000) n`,
  );
  const file = tempReplicaFile();
  const r: Replicator = await startReplicator(url, file);
  stops.push(() => r.stop());
  await c.query(`UPDATE issue SET title = 'changed' WHERE id = 'i7'`);
  await c.query(`DELETE FROM issue WHERE id = 'i8'`);
  await catchUp(c, r);

  const lines: string[] = [];
  const server = await startSnapshotServer({
    replicaFile: file,
    secret: 'pg-test-secret',
    host: '127.0.0.1',
    port: 0,
    lc: captureLogger(lines),
  });
  stops.push(() => server.close());
  const toFile = join(dirname(file), 'follower.db.snapshot');
  const res = await downloadSnapshot({
    uri: `http://127.0.0.1:${server.port}`,
    secret: 'pg-test-secret',
    toFile,
    lc: captureLogger(lines),
  });
  expect(res.version).toBe(r.version);
  const got = readReplicaTable(toFile, 'issue');
  expect(got).toHaveLength(4999);
  expect(got.find(x => x['id'] === 'i7')).toEqual({
    id: 'i7',
    title: 'changed',
    priority: 2,
    open: false,
    meta: {n: 7},
  });
  expect(got.some(x => x['id'] === 'i8')).toBe(false);
  expect(got).toEqual(readReplicaTable(file, 'issue'));
  const snap = openReplica(toFile);
  try {
    expect(snap.version()).toBe(r.version);
    expect([...snap.tables().keys()]).toContain('issue');
  } finally {
    snap.close();
  }
  expect(lines.join('\n')).not.toContain('pg-test-secret');
});
