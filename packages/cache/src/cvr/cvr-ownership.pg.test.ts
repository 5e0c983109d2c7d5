// Two CVR stores with different node ids on one database stand for two view-syncer nodes:
// a load takes a group over, and the previous holder's writes, release and delete of it
// are refused without writing anything.
import pg from 'pg';
import {afterEach, expect, test} from 'vitest';
import {silentLogger} from '@zync/shared';
import {createTestDatabase} from '../../../../test/pg.ts';
import {CVRStep} from './cvr-step.ts';
import {CVRStore} from './cvr-store.ts';
import {CVROwnershipLost, checkNodeID} from './cvr-ownership.ts';
import type {CVR} from './cvr.ts';

const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.end();
});

async function twoNodes() {
  const pool = new pg.Pool({connectionString: await createTestDatabase('cvr_owner')});
  pools.push(pool);
  const a = new CVRStore(pool, 'own', silentLogger, {nodeID: 'node-a'});
  const b = new CVRStore(pool, 'own', silentLogger, {nodeID: 'node-b'});
  await Promise.all([a.init(), b.init()]);
  return {pool, a, b};
}

/** One step of `cvr` that sends `n` rows (ids from `from`), as a write to flush. */
function step(cvr: CVR, n: number, from = 0, title = 'x') {
  const s = new CVRStep(cvr);
  for (let i = from; i < from + n; i++) {
    s.addRow('q1', 'issue', {id: `i${i}`}, {id: `i${i}`, title});
  }
  s.gotQuery('q1');
  s.finish('v1');
  return cvr.takeWrites();
}

/** The group's stored state: its row and a digest of its rows and queries. */
async function stored(pool: pg.Pool, group: string) {
  const g = await pool.query<Record<string, unknown>>(
    `SELECT epoch, seq, owned, owner, owner_epoch, last_active FROM zync_own_cvr.groups
     WHERE group_id = $1`,
    [group],
  );
  const r = await pool.query<{n: string; h: string | null}>(
    `SELECT count(*) AS n, string_agg(row_key || content_hash || patch_seq, ',' ORDER BY row_key)
     AS h FROM zync_own_cvr.rows WHERE group_id = $1`,
    [group],
  );
  const q = await pool.query<{n: string}>(
    `SELECT count(*) AS n FROM zync_own_cvr.queries WHERE group_id = $1`,
    [group],
  );
  return {group: g.rows[0], rows: r.rows[0], queries: q.rows[0]?.n};
}

test('a load takes the group over: owner and owner epoch move, the cookie epoch renews', async () => {
  const {pool, a, b} = await twoNodes();
  const la = await a.load('g');
  expect(la.cvr.ownerEpoch).toBe(1);
  expect((await stored(pool, 'g')).group).toMatchObject({owner: 'node-a', owner_epoch: '1'});
  await a.flush(step(la.cvr, 3));
  const lb = await b.load('g');
  // A still held it (owned): pokes may have gone out unrecorded, so clients get a reset.
  expect(lb.tookOver).toBe(true);
  expect(lb.cvr.state.epoch).not.toBe(la.cvr.state.epoch);
  expect(lb.cvr.ownerEpoch).toBe(2);
  expect(lb.cvr.state.rows.size).toBe(3);
  expect((await stored(pool, 'g')).group).toMatchObject({owner: 'node-b', owner_epoch: '2'});
});

test('the previous holder’s next flush is refused and writes nothing (small and large)', async () => {
  const {pool, a, b} = await twoNodes();
  const la = await a.load('g');
  await a.flush(step(la.cvr, 2));
  const lb = await b.load('g');
  await b.flush(step(lb.cvr, 1, 10, 'from b'));
  const before = await stored(pool, 'g');

  // A small write (the shared statement) next to another group's, which still lands.
  const other = await a.load('other');
  const small = step(la.cvr, 5, 20);
  const results = await Promise.allSettled([a.flush(small), a.flush(step(other.cvr, 1))]);
  expect(results[0]).toMatchObject({status: 'rejected', reason: expect.any(CVROwnershipLost)});
  expect((results[0] as PromiseRejectedResult).reason).toMatchObject({groupID: 'g'});
  expect(results[1]).toMatchObject({status: 'fulfilled'});
  expect((await stored(pool, 'other')).rows?.n).toBe('1');

  // A large write (a transaction of its own, in chunks).
  await expect(a.flush(step(la.cvr, 2500, 100))).rejects.toBeInstanceOf(CVROwnershipLost);
  expect(await stored(pool, 'g')).toEqual(before);

  // B goes on writing.
  await b.flush(step(lb.cvr, 1, 11, 'from b'));
  expect((await stored(pool, 'g')).rows?.n).toBe('4');
});

/** Sessions of the test database waiting for a lock. */
async function waiting(pool: pg.Pool): Promise<number> {
  const {rows} = await pool.query<{n: string}>(
    `SELECT count(*) AS n FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return Number(rows[0]?.n);
}

/** Runs `fn` while row inserts of the CVR store wait on a lock held by another session. */
async function withRowsLocked(pool: pg.Pool, fn: () => Promise<void>): Promise<void> {
  const blocker = await pool.connect();
  try {
    await blocker.query(`BEGIN; LOCK TABLE zync_own_cvr.rows IN SHARE MODE`);
    await fn();
  } finally {
    await blocker.query('ROLLBACK');
    blocker.release();
  }
}

test('a load waits for a large write under way and sees all of it; that write lands', async () => {
  const {pool, a, b} = await twoNodes();
  const la = await a.load('g');
  let writing!: Promise<void>;
  let loading!: Promise<unknown>;
  await withRowsLocked(pool, async () => {
    // The write's first statement (its group row, checked) ran; its rows wait.
    writing = a.flush(step(la.cvr, 2500));
    await expect.poll(() => waiting(pool)).toBe(1);
    loading = b.load('g');
    await expect.poll(() => waiting(pool)).toBe(2); // the load waits for that group row
  });
  await writing;
  const lb = (await loading) as Awaited<ReturnType<CVRStore['load']>>;
  expect(lb.cvr.state.rows.size).toBe(2500);
  expect(lb.cvr.state.seq).toBe(1);
});

test('a small write that had not reached the group row when another node loaded it is refused', async () => {
  const {pool, a, b} = await twoNodes();
  const la = await a.load('g');
  let writing!: Promise<void>;
  await withRowsLocked(pool, async () => {
    // One statement: it waits for its table locks before it touches any row.
    writing = a.flush(step(la.cvr, 3));
    writing.catch(() => {}); // awaited below
    await expect.poll(() => waiting(pool)).toBe(1);
    const lb = await b.load('g');
    expect(lb.cvr.state.rows.size).toBe(0);
  });
  await expect(writing).rejects.toBeInstanceOf(CVROwnershipLost);
  expect((await stored(pool, 'g')).rows?.n).toBe('0');
  expect((await stored(pool, 'g')).group).toMatchObject({owner: 'node-b', seq: '0'});
});

test('a stale node neither releases nor deletes a group another node holds; the purger keeps it', async () => {
  const {pool, a, b} = await twoNodes();
  const la = await a.load('g');
  const lb = await b.load('g');
  expect(await a.release(la.cvr)).toBe(false);
  expect((await stored(pool, 'g')).group).toMatchObject({owned: true, owner: 'node-b'});
  expect(await a.deleteGroup('g', la.cvr)).toBe(false);
  expect(await a.deleteGroup('g')).toBe(false);
  await pool.query(`UPDATE zync_own_cvr.groups SET last_active = now() - interval '3 days'`);
  expect(await a.purgeInactive(3_600_000, 10)).toBe(0);
  expect((await stored(pool, 'g')).group).toBeDefined();
  // The holder's release works, and only then may the purger take the group.
  expect(await b.release(lb.cvr)).toBe(true);
  await pool.query(`UPDATE zync_own_cvr.groups SET last_active = now() - interval '3 days'`);
  expect(await a.purgeInactive(3_600_000, 10)).toBe(1);
  expect((await stored(pool, 'g')).group).toBeUndefined();
});

test('a group released cleanly keeps its cookie epoch when another node loads it', async () => {
  const {a, b} = await twoNodes();
  const la = await a.load('g');
  await a.flush(step(la.cvr, 2));
  expect(await a.release(la.cvr)).toBe(true);
  const lb = await b.load('g');
  expect(lb.tookOver).toBe(false);
  expect(lb.cvr.state.epoch).toBe(la.cvr.state.epoch);
  expect(lb.cvr.state.seq).toBe(la.cvr.state.seq);
});

test('two nodes creating one new group at once both load it; the later one holds it', async () => {
  const {pool, a, b} = await twoNodes();
  const [la, lb] = await Promise.all([a.load('new'), b.load('new')]);
  const epochs = [la.cvr.ownerEpoch, lb.cvr.ownerEpoch].sort();
  expect(epochs).toEqual([1, 2]);
  const holder = la.cvr.ownerEpoch === 2 ? 'node-a' : 'node-b';
  expect((await stored(pool, 'new')).group).toMatchObject({owner: holder, owner_epoch: '2'});
});

test('a version-2 store gains the owner columns; its groups start at owner epoch 0', async () => {
  const pool = new pg.Pool({connectionString: await createTestDatabase('cvr_owner')});
  pools.push(pool);
  await pool.query(`CREATE SCHEMA zync_own_cvr;
    CREATE TABLE zync_own_cvr.meta (version int NOT NULL);
    INSERT INTO zync_own_cvr.meta VALUES (2);
    CREATE TABLE zync_own_cvr.groups (group_id text PRIMARY KEY, epoch text NOT NULL,
      seq bigint NOT NULL, horizon bigint NOT NULL, replica_version text,
      owned boolean NOT NULL, last_active timestamptz NOT NULL DEFAULT now());
    CREATE TABLE zync_own_cvr.queries (group_id text NOT NULL, hash text NOT NULL, ast jsonb,
      name text, args jsonb, desired_by jsonb NOT NULL, ttl_ms bigint NOT NULL,
      inactive_since bigint, got_seq bigint, replica_version text, patch_seq bigint NOT NULL,
      deleted boolean NOT NULL, PRIMARY KEY (group_id, hash));
    CREATE TABLE zync_own_cvr.rows (group_id text NOT NULL, row_key text NOT NULL,
      tbl text NOT NULL, row_id jsonb NOT NULL, content_hash text, refs jsonb NOT NULL,
      patch_seq bigint NOT NULL, deleted boolean NOT NULL, PRIMARY KEY (group_id, row_key));
    INSERT INTO zync_own_cvr.groups VALUES ('old', 'e1', 4, 0, 'v1', false, now());`);
  const store = new CVRStore(pool, 'own', silentLogger, {nodeID: 'node-a'});
  await store.init();
  const {rows} = await pool.query(`SELECT version FROM zync_own_cvr.meta`);
  expect(rows).toEqual([{version: 3}]);
  expect((await stored(pool, 'old')).group).toMatchObject({owner: null, owner_epoch: '0'});
  const l = await store.load('old');
  expect(l.cvr.state).toMatchObject({epoch: 'e1', seq: 4});
  expect(l.cvr.ownerEpoch).toBe(1);
});

test('node ids are checked: empty, too long or with control characters is refused', () => {
  expect(() => checkNodeID('')).toThrow(/ZERO_TASK_ID.*empty/);
  expect(() => checkNodeID('x'.repeat(201))).toThrow(/at most 200/);
  expect(() => checkNodeID('a\nb')).toThrow(/control characters/);
  expect(checkNodeID('host-1-abcd')).toBe('host-1-abcd');
  expect(new CVRStore(new pg.Pool(), 'own', silentLogger).nodeID).toMatch(/-\d+-[0-9a-f]{8}$/);
});
