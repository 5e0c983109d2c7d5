import pg from 'pg';
import type {AST} from '@zync/protocol';
import {afterEach, expect, test, vi} from 'vitest';
import {silentLogger} from '@zync/shared';
import {ManualClock} from '../../../../test/manual-clock.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {CVRStore} from './cvr-store.ts';
import {rowKey} from '../view-syncer/row-key.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {highPriority, issues, openTop2, summarize} from '../../test/sync/poke-summary.ts';
import {TestClient} from '../../test/sync/test-client.ts';

const servers: TestServer[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function start(
  dbUrl: string,
  replica: MemoryReplica,
  limits: Parameters<typeof startTestServer>[0]['limits'] = {},
  clock?: ManualClock,
) {
  const s = await startTestServer({dbUrl, replica, limits, extra: clock ? {clock} : {}});
  servers.push(s);
  return s;
}

function newReplica() {
  return new MemoryReplica({issue: {primaryKey: ['id'], rows: issues()}});
}

async function connectA(port: number, baseVersion: string | null, clientID = 'c1') {
  const c = await TestClient.open(port);
  c.connect({
    clientID,
    clientGroupID: 'g1',
    baseVersion,
    desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
  });
  return {c, poke: await c.poke()};
}

for (const idle of [{groupIdleMs: 60_000}, {groupIdleMs: 50}]) {
  test(`reconnect with a base version gets only the delta (group ${idle.groupIdleMs > 1000 ? 'kept in memory' : 'released and reloaded'})`, async () => {
    const replica = newReplica();
    const s = await start(await createTestDatabase('cvr'), replica, idle);
    const first = await connectA(s.port, null);
    const v1 = first.poke.version;
    await first.c.close();
    if (idle.groupIdleMs < 1000) {
      await expect.poll(() => s.server.stats().clientGroups).toBe(0);
    }
    replica.put('issue', {id: 6, status: 'open', priority: 8}).commit(); // 6 in, 2 out
    replica.put('issue', {id: 4, status: 'open', priority: 7, note: 'edited'}).commit(); // edit
    replica.put('issue', {id: 5, status: 'closed', priority: 3}).commit(); // not in A

    const again = await connectA(s.port, v1);
    expect(again.poke.baseVersion).toBe(v1);
    expect(again.poke.rows).toEqual(
      expect.arrayContaining([
        {op: 'put', table: 'issue', value: {id: 6, status: 'open', priority: 8}},
        {op: 'put', table: 'issue', value: {id: 4, status: 'open', priority: 7, note: 'edited'}},
        {op: 'del', table: 'issue', id: {id: 2}},
      ]),
    );
    expect(summarize(again.poke)).toEqual({
      clear: false,
      puts: ['issue:4', 'issue:6'],
      dels: ['issue:2'],
      got: [],
    });
    const v2 = again.poke.version;
    await again.c.close();

    // Nothing changed since: an empty delta.
    const third = await connectA(s.port, v2);
    expect(third.poke.baseVersion).toBe(v2);
    expect(third.poke.rows).toEqual([]);
    expect(third.poke.gotQueries).toEqual([]);
    await third.c.close();
  });
}

test('unknown, foreign or future versions get a reset', async () => {
  const replica = newReplica();
  const s = await start(await createTestDatabase('cvr'), replica);
  const first = await connectA(s.port, null);
  const v1 = first.poke.version;
  await first.c.close();
  const [epoch, seq] = v1.split(':') as [string, string];
  for (const bad of ['garbage', `ffff${epoch}:${seq}`, `${epoch}:${Number(seq) + 5}`]) {
    const r = await connectA(s.port, bad);
    expect(r.poke.baseVersion).toBeNull();
    expect(summarize(r.poke)).toEqual({
      clear: true,
      puts: ['issue:2', 'issue:4'],
      dels: [],
      got: ['clear', 'put:A'],
    });
    expect(r.poke.rows[0]).toEqual({op: 'clear'});
    await r.c.close();
  }
});

test('a version older than the oldest kept tombstone gets a reset', async () => {
  const replica = newReplica();
  const s = await start(await createTestDatabase('cvr'), replica, {maxTombstones: 2});
  const keeper = await connectA(s.port, null, 'keeper');
  const old = await connectA(s.port, null, 'old');
  const v1 = old.poke.version;
  await old.c.close();
  // Push many rows through the top 2: each leaves a tombstone.
  for (let i = 0; i < 6; i++) {
    replica.put('issue', {id: 100 + i, status: 'open', priority: 50 + i}).commit();
    await keeper.c.poke();
  }
  const vRecent = keeper.c.version;
  const stale = await connectA(s.port, v1, 'old');
  expect(stale.poke.baseVersion).toBeNull();
  expect(summarize(stale.poke)).toEqual({
    clear: true,
    puts: ['issue:104', 'issue:105'],
    dels: [],
    got: ['clear', 'put:A'],
  });
  await stale.c.close();
  // A recent version is still served as a delta.
  replica.put('issue', {id: 200, status: 'open', priority: 99}).commit();
  await keeper.c.poke();
  const recent = await connectA(s.port, vRecent, 'old');
  expect(summarize(recent.poke)).toEqual({
    clear: false,
    puts: ['issue:200'],
    dels: ['issue:104'],
    got: [],
  });
  await recent.c.close();
  await keeper.c.close();
});

test('the CVR survives a restart: a new server on the same Postgres sends only the delta', async () => {
  const dbUrl = await createTestDatabase('cvr');
  const replica = newReplica();
  const s1 = await start(dbUrl, replica);
  const c = await TestClient.open(s1.port);
  c.connect({
    clientID: 'c1',
    clientGroupID: 'g1',
    desiredQueries: [
      {op: 'put', hash: 'A', ast: openTop2},
      {op: 'put', hash: 'B', ast: highPriority},
    ],
  });
  const p1 = await c.poke();
  await c.close();
  await s1.stop();
  servers.splice(servers.indexOf(s1), 1);

  replica.put('issue', {id: 3, status: 'closed', priority: 1}).commit(); // leaves B
  replica.put('issue', {id: 8, status: 'open', priority: 6}).commit(); // enters A and B, 2 leaves A

  const s2 = await start(dbUrl, replica);
  const c2 = await TestClient.open(s2.port);
  c2.connect({
    clientID: 'c1',
    clientGroupID: 'g1',
    baseVersion: p1.version,
    desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
  });
  const p2 = await c2.poke();
  expect(p2.baseVersion).toBe(p1.version);
  // B is no longer wanted but kept for its TTL: its rows stay.
  expect(summarize(p2)).toEqual({
    clear: false,
    puts: ['issue:8'],
    dels: ['issue:2', 'issue:3'],
    got: [],
  });
  await c2.close();
});

test('a CVR taken over without a clean release renews its epoch (clients reset)', async () => {
  const pool = new pg.Pool({connectionString: await createTestDatabase('cvr')});
  try {
    const store = new CVRStore(pool, 'crash', silentLogger);
    await store.init();
    await store.init(); // idempotent
    const a = await store.load('g');
    expect(a.tookOver).toBe(false);
    // No release: as if the process died.
    const b = await store.load('g');
    expect(b.tookOver).toBe(true);
    expect(b.cvr.state.epoch).not.toBe(a.cvr.state.epoch);
    await store.release(b.cvr);
    const c = await store.load('g');
    expect(c.tookOver).toBe(false);
    expect(c.cvr.state.epoch).toBe(b.cvr.state.epoch);
    const {rows} = await pool.query<{n: string}>(
      `SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = 'zync_crash_cvr'`,
    );
    expect(rows[0]?.n).toBe('1');
  } finally {
    await pool.end();
  }
});

test('flushes of several groups in one turn are written together, each as given', async () => {
  const pool = new pg.Pool({connectionString: await createTestDatabase('cvr')});
  try {
    const store = new CVRStore(pool, 'batch', silentLogger);
    await store.init();
    const loaded = await Promise.all(['g1', 'g2', 'g3'].map(g => store.load(g)));
    const write = (g: string, seq: number, rows: number, deletedRows: number[] = []) => ({
      // Each group was created by its load: owner epoch 1.
      group: {groupID: g, epoch: 'e', seq, horizon: 0, replicaVersion: 'v1', ownerEpoch: 1},
      queries: [],
      deletedQueries: [],
      rows:
        rows === 0
          ? []
          : [
              {
                table: 't',
                refs: {q: 1},
                patchSeq: seq,
                deleted: false,
                ids: Array.from({length: rows}, (_, i) => ({id: i})),
                hashes: Array.from({length: rows}, (_, i) => 1000 + i),
              },
            ],
      deletedRows: deletedRows.map(i => rowKey('t', {id: i})),
    });
    // Same turn: g1 and g2 small (batched), g3 over the chunk size (its own transaction).
    await Promise.all([
      store.flush(write('g1', 1, 3)),
      store.flush(write('g2', 1, 2)),
      store.flush(write('g3', 1, 2500)),
    ]);
    await Promise.all([store.flush(write('g1', 2, 1, [1, 2])), store.flush(write('g2', 2, 0))]);
    for (const l of loaded) await store.release(l.cvr);
    const [g1, g2, g3] = await Promise.all(['g1', 'g2', 'g3'].map(g => store.load(g)));
    expect(g1?.cvr.state.seq).toBe(2);
    const g1Rows = [...(g1?.cvr.state.rows.values() ?? [])];
    expect(g1Rows.map(r => r.id)).toEqual([{id: 0}]);
    expect(g1Rows[0]).toMatchObject({contentHash: 1000, patchSeq: 2});
    expect(g2?.cvr.state.seq).toBe(2);
    expect(g2?.cvr.state.rows.size).toBe(2);
    expect(g3?.cvr.state.rows.size).toBe(2500);
    expect(g3?.cvr.state.replicaVersion).toBe('v1');
  } finally {
    await pool.end();
  }
});

test('a large CVR write waits largeCVRWriteDelayMs after its poke; small ones do not', async () => {
  const many = Array.from({length: 2500}, (_, i) => ({id: i + 1, status: 'open', priority: i}));
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: many}});
  // The delay runs on a clock the test moves: what is written before it is over is exact.
  const clock = new ManualClock();
  const s = await start(
    await createTestDatabase('cvr'),
    replica,
    {largeCVRWriteDelayMs: 1500},
    clock,
  );
  const rowsWritten = async () =>
    Number(
      (await s.pool.query<{n: string}>(`SELECT count(*) AS n FROM "zync_test_cvr".rows`)).rows[0]
        ?.n,
    );
  const all: AST = {kind: 'query', table: 'issue', orderBy: [['id', 'asc']]};
  const c = await TestClient.open(s.port);
  c.connect({
    clientID: 'c1',
    clientGroupID: 'big',
    baseVersion: null,
    desiredQueries: [{op: 'put', hash: 'all', ast: all}],
  });
  const poke = await c.poke();
  expect(poke.rows.filter(r => r.op === 'put')).toHaveLength(2500);
  // The write waits on the clock, the poke already out; not a row is written before the
  // delay is over, to the millisecond.
  await expect.poll(() => clock.pending).toBe(1);
  clock.advance(1499);
  expect(clock.pending).toBe(1);
  expect(await rowsWritten()).toBe(0);
  clock.advance(1);
  expect(clock.pending).toBe(0);
  await expect.poll(rowsWritten, {timeout: 15_000}).toBe(2500);

  // A small step (one edit) is written without that wait: the clock does not move.
  replica.put('issue', {id: 1, status: 'open', priority: 999}).commit();
  await c.poke();
  await expect
    .poll(
      async () =>
        Number(
          (
            await s.pool.query<{n: string}>(
              `SELECT count(*) AS n FROM "zync_test_cvr".rows WHERE patch_seq > 1`,
            )
          ).rows[0]?.n,
        ),
      {timeout: 5000},
    )
    .toBe(1);
  expect(clock.pending).toBe(0);
  await c.close();
});

test('a group without clients does not follow the replica; it catches up on the next connect', async () => {
  const replica = newReplica();
  const s = await start(await createTestDatabase('cvr'), replica, {groupIdleMs: 60_000});
  const first = await connectA(s.port, null);
  await first.c.close();
  await expect.poll(() => s.server.stats().connections).toBe(0);
  const driver = s.drivers.get('g1');
  if (!driver) throw new Error('no driver for g1');
  const advance = vi.spyOn(driver, 'advance');
  // A group with a client sees the same replica changes: once its poke is here, every
  // group the changes were dispatched to has had the time to advance.
  const other = await TestClient.open(s.port);
  other.connect({
    clientID: 'c2',
    clientGroupID: 'g2',
    desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
  });
  await other.poke();
  replica.put('issue', {id: 6, status: 'open', priority: 8}).commit(); // 6 in, 2 out
  replica.put('issue', {id: 4, status: 'open', priority: 7, note: 'edited'}).commit();
  const sawEdit = () =>
    other.frames.some(
      f =>
        f[0] === 'poke' &&
        f[1].rows.some(r => r.op === 'put' && r.value['id'] === 4 && r.value['note'] === 'edited'),
    );
  await vi.waitFor(() => expect(sawEdit()).toBe(true));
  expect(advance).not.toHaveBeenCalled();
  await other.close();

  const again = await connectA(s.port, first.poke.version);
  expect(advance).toHaveBeenCalledTimes(1);
  expect(again.poke.baseVersion).toBe(first.poke.version);
  expect(summarize(again.poke)).toEqual({
    clear: false,
    puts: ['issue:4', 'issue:6'],
    dels: ['issue:2'],
    got: [],
  });
  // Connected again: it follows the replica as it changes.
  replica.put('issue', {id: 6, status: 'closed', priority: 8}).commit();
  const next = await again.c.poke();
  expect(summarize(next).dels).toEqual(['issue:6']);
  await again.c.close();
});
