import pg from 'pg';
import {afterEach, expect, test} from 'vitest';
import {silentLogger} from '@zync/shared';
import {ManualClock} from '../../../../test/manual-clock.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {PgGroupPins} from '../auth/group-pins.ts';
import {CVRPurger} from './cvr-purger.ts';
import {CVRStore} from './cvr-store.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {issues, openTop2, summarize} from '../../test/sync/poke-summary.ts';
import {TestClient} from '../../test/sync/test-client.ts';

const servers: TestServer[] = [];
const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const p of pools.splice(0)) await p.end();
});

const HOUR = 3_600_000;

async function setup() {
  const dbUrl = await createTestDatabase('cvr_purge');
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: issues()}});
  const s = await startTestServer({
    dbUrl,
    replica,
    appID: 'test',
    limits: {groupIdleMs: 50},
    extra: {groupPins: new PgGroupPins(pinPool(dbUrl), 'test', silentLogger)},
  });
  servers.push(s);
  return s;
}

/** A pool for the server's group pins (they share the CVR database). */
function pinPool(dbUrl: string): pg.Pool {
  const pool = new pg.Pool({connectionString: dbUrl, max: 2});
  pools.push(pool);
  return pool;
}

async function sync(port: number, group: string, baseVersion: string | null = null) {
  const c = await TestClient.open(port);
  c.connect({
    clientID: `${group}-c`,
    clientGroupID: group,
    baseVersion,
    desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
  });
  return {c, poke: await c.poke()};
}

async function counts(s: TestServer, group: string) {
  const q = (t: string) =>
    s.pool
      .query<{n: string}>(`SELECT count(*) AS n FROM "zync_test_cvr".${t} WHERE group_id = $1`, [
        group,
      ])
      .then(r => Number(r.rows[0]?.n));
  return {groups: await q('groups'), queries: await q('queries'), rows: await q('rows')};
}

test('groups nobody holds that were inactive too long lose their CVR and pin; others stay', async () => {
  const s = await setup();
  const old = await sync(s.port, 'old');
  const held = await sync(s.port, 'held');
  const recent = await sync(s.port, 'recent');
  await old.c.close();
  await recent.c.close();
  // `held` keeps its client: its group stays in memory, owned by this process.
  await expect.poll(() => s.server.stats().clientGroups).toBe(1);
  // A group leaves memory first and writes its release after: wait for the two releases, or
  // one could land after the backdating below and make its group recent again.
  await expect
    .poll(async () =>
      (
        await s.pool.query<{group_id: string}>(
          `SELECT group_id FROM "zync_test_cvr".groups WHERE NOT owned ORDER BY group_id`,
        )
      ).rows.map(r => r.group_id),
    )
    .toEqual(['old', 'recent']);
  await s.pool.query(
    `UPDATE "zync_test_cvr".groups SET last_active = now() - interval '3 hours'
     WHERE group_id IN ('old', 'held')`,
  );
  await s.pool.query(
    `UPDATE "zync_test_cvr".group_users SET pinned_at = now() - interval '3 hours'`,
  );
  expect(await counts(s, 'old')).toEqual({groups: 1, queries: 1, rows: 2});

  const store = new CVRStore(s.pool, 'test', silentLogger);
  const pins = new PgGroupPins(s.pool, 'test', silentLogger);
  expect(await store.purgeInactive(2 * HOUR, 10)).toBe(1);
  expect(await counts(s, 'old')).toEqual({groups: 0, queries: 0, rows: 0});
  expect(await counts(s, 'held')).toEqual({groups: 1, queries: 1, rows: 2});
  expect(await counts(s, 'recent')).toEqual({groups: 1, queries: 1, rows: 2});
  // Only the pin of the purged group goes (the others still have their CVR).
  expect(await pins.purge(2 * HOUR)).toBe(1);
  const left = await s.pool.query<{group_id: string}>(
    `SELECT group_id FROM "zync_test_cvr".group_users ORDER BY group_id`,
  );
  expect(left.rows.map(r => r.group_id)).toEqual(['held', 'recent']);
  expect(await store.purgeInactive(2 * HOUR, 10)).toBe(0);

  // A client of the purged group comes back with its cookie: the server no longer knows
  // what it holds, and says so (ClientNotFound) instead of serving the new CVR.
  const stale = await TestClient.open(s.port);
  stale.connect({
    clientID: 'old-c',
    clientGroupID: 'old',
    baseVersion: old.poke.version,
    desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
  });
  const [, err] = await stale.next('error');
  expect(err.kind).toBe('ClientNotFound');
  expect(err.message).toMatch(/drop its local state/);
  // After dropping its state, it syncs again from nothing: every row.
  const back = await sync(s.port, 'old', null);
  expect(back.poke.baseVersion).toBeNull();
  expect(summarize(back.poke)).toEqual({
    clear: true,
    puts: ['issue:2', 'issue:4'],
    dels: [],
    got: ['clear', 'put:A'],
  });
  await back.c.close();
  await held.c.close();
});

test('the purger backs off while there is nothing to purge and takes more while rounds are full', async () => {
  let eligible = 7;
  const store = {
    purgeInactive: (_ms: number, limit: number) => {
      const n = Math.min(limit, eligible);
      eligible -= n;
      return Promise.resolve(n);
    },
  };
  const clock = new ManualClock();
  const p = new CVRPurger({
    store,
    inactiveMs: HOUR,
    initialIntervalMs: 10,
    initialBatchSize: 2,
    maxIntervalMs: 40,
    logger: silentLogger,
    clock,
  });
  expect(await p.round()).toBe(2);
  expect(p.schedule).toEqual({intervalMs: 10, batchSize: 4});
  expect(await p.round()).toBe(4);
  expect(p.schedule).toEqual({intervalMs: 10, batchSize: 6});
  expect(await p.round()).toBe(1);
  expect(p.schedule).toEqual({intervalMs: 10, batchSize: 6});
  expect(await p.round()).toBe(0);
  expect(p.schedule.intervalMs).toBe(20);
  await p.round();
  await p.round();
  expect(p.schedule.intervalMs).toBe(40);

  // Started, it purges on its own, one interval later; stopped, it does no more rounds.
  eligible = 3;
  p.start();
  expect(clock.pending).toBe(1);
  clock.advance(39);
  await Promise.resolve();
  expect(eligible).toBe(3);
  clock.advance(1);
  await expect.poll(() => eligible).toBe(0);
  // The round purged something: the next one is due after the initial interval.
  await expect.poll(() => clock.pending).toBe(1);
  expect(p.schedule.intervalMs).toBe(10);
  await p.stop();
  expect(clock.pending).toBe(0);
  eligible = 3;
  clock.advance(HOUR);
  expect(eligible).toBe(3);

  // A batch size of 0 turns it off: it never even waits for a round.
  const off = new CVRPurger({
    store,
    inactiveMs: HOUR,
    initialIntervalMs: 1,
    initialBatchSize: 0,
    logger: silentLogger,
    clock,
  });
  off.start();
  expect(clock.pending).toBe(0);
  clock.advance(HOUR);
  expect(eligible).toBe(3);
  await off.stop();
});
