import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {openReplica} from '../replica/open-replica.ts';
import {Replicator} from './replicator.ts';
import {
  captureLogger,
  catchUp,
  pgClient,
  tempReplicaFile,
  uniqueAppId,
} from '../../test/replicator-helpers.ts';

const running: Replicator[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

test('the change log has one entry per key per transaction and is pruned by age', async () => {
  const url = await createTestDatabase('changelog');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE t (id int PRIMARY KEY, v int)`);
  const file = tempReplicaFile();
  // The change log's age is measured on a clock the test moves.
  let now = 1_000_000;
  const r = new Replicator({
    upstreamUrl: url,
    replicaFile: file,
    appId: uniqueAppId(),
    lc: captureLogger(),
    changeLogRetentionMs: 300,
    changeLogPruneIntervalMs: 100,
    now: () => now,
  });
  running.push(r);
  void r.run();
  await r.ready;
  const versions: string[] = [];
  r.subscribe(v => versions.push(v));
  await c.query(`BEGIN; INSERT INTO t VALUES (1, 1); UPDATE t SET v = 2 WHERE id = 1;
                 INSERT INTO t VALUES (2, 1); UPDATE t SET id = 3 WHERE id = 2; COMMIT`);
  await catchUp(c, r);
  const rep = openReplica(file);
  const entries = rep.db
    .prepare(`SELECT tbl, op, key FROM _zync_changelog WHERE version = ? ORDER BY seq`)
    .all(versions[0]);
  expect(entries).toEqual([
    {tbl: 't', op: 'set', key: '[1]'},
    {tbl: 't', op: 'del', key: '[2]'},
    {tbl: 't', op: 'set', key: '[3]'},
  ]);
  const floor0 = (
    rep.db.prepare(`SELECT changelog_floor AS f FROM _zync_replication_state`).get() as {f: string}
  ).f;
  // Nothing is older than the retention yet: nothing is pruned.
  now += 300;
  await c.query(`UPDATE t SET v = v + 1 WHERE id = 1`);
  await catchUp(c, r);
  expect(
    (
      rep.db.prepare(`SELECT changelog_floor AS f FROM _zync_replication_state`).get() as {
        f: string;
      }
    ).f,
  ).toBe(floor0);
  for (let i = 0; i < 8; i++) {
    now += 100;
    await c.query(`UPDATE t SET v = v + 1 WHERE id = 1`);
    await catchUp(c, r);
  }
  const floor = (
    rep.db.prepare(`SELECT changelog_floor AS f FROM _zync_replication_state`).get() as {f: string}
  ).f;
  expect(floor > floor0).toBe(true);
  const oldest = rep.db.prepare(`SELECT min(version) AS v FROM _zync_changelog`).get() as {
    v: string;
  };
  expect(oldest.v > floor).toBe(true);
  expect(versions[0]! <= floor).toBe(true);
  rep.close();
  await c.end();
});
