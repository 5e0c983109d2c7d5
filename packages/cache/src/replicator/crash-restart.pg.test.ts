// Runs zero-cache as a child process through the bin, kills it with SIGKILL at moments
// spread over its life while upstream keeps writing (during the initial copy, as streaming
// starts, after it applied changes), and checks that the replica always converges. The
// moments are events the test waits for, not delays.
import Database from 'better-sqlite3';
import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {
  killAll,
  outputMatches,
  startOnFreePort,
  type BinRun,
} from '../../../../test/zero-cache-process.ts';
import {pgClient, readReplicaTable, tempReplicaFile} from '../../test/replicator-helpers.ts';

afterAll(killAll);

function replicaVersion(file: string): string {
  try {
    const db = new Database(file, {readonly: true});
    try {
      const row = db.prepare(`SELECT version FROM _zync_replication_state`).get() as
        {version: string} | undefined;
      return row?.version ?? '';
    } finally {
      db.close();
    }
  } catch {
    return '';
  }
}

/**
 * The replicator has begun, which zero-cache lets it do only once its port is bound: no
 * other process can take the port any more.
 */
const listening = (run: BinRun) =>
  /initial copy starts|resuming replication|connect to upstream failed/.test(run.output());

/** Resolves once `cond` holds, looking every 10 ms; rejects if `run` exits first. */
async function until(run: BinRun, what: string, cond: () => boolean): Promise<void> {
  while (!cond()) {
    if (run.closed()) throw new Error(`zero-cache exited before ${what}:\n${run.output()}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

test('SIGKILL at moments spread over copying and streaming always converges', async () => {
  const url = await createTestDatabase('crash');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE k (id int PRIMARY KEY, n int NOT NULL)`);
  await c.query(`INSERT INTO k SELECT i, 0 FROM generate_series(1, 20000) i`);
  const file = tempReplicaFile();
  const env = {
    ZERO_UPSTREAM_DB: url,
    ZERO_REPLICA_FILE: file,
    ZERO_APP_ID: `crash_${process.pid}`,
    ZERO_LOG_LEVEL: 'debug',
  };

  let writing = true;
  let next = 100_000;
  const writer = (async () => {
    const w = await pgClient(url);
    while (writing) {
      await w.query('BEGIN');
      await w.query(`INSERT INTO k VALUES ($1, 0)`, [next++]);
      await w.query(`UPDATE k SET n = n + 1 WHERE id = $1`, [1 + (next % 50)]);
      if (next % 10 === 0) await w.query(`DELETE FROM k WHERE id = $1`, [next - 5]);
      await w.query('COMMIT');
    }
    await w.end();
  })();

  const out: string[] = [];
  /** Where each round kills the process: what it waits for after starting it. */
  const moments: ((run: BinRun) => Promise<void>)[] = [
    // During the initial copy of 20,000 rows (or right after it, on a fast machine).
    run => outputMatches(run, /initial copy starts/),
    // As soon as it streams.
    run => outputMatches(run, /streaming changes/),
    // Once it has applied a change since (re)starting, then after it has applied another.
    ...[1, 2].map(changes => async (run: BinRun) => {
      await outputMatches(run, /streaming changes/);
      const seen = new Set([replicaVersion(file)]);
      await until(run, `applying ${changes} changes`, () => {
        seen.add(replicaVersion(file));
        return seen.size > changes;
      });
    }),
  ];
  for (const moment of moments) {
    const {run} = await startOnFreePort(env, listening);
    await moment(run);
    run.child.kill('SIGKILL');
    await run.exit;
    out.push(run.output());
  }
  writing = false;
  await writer;
  const {rows} = await c.query<{lsn: string}>(`SELECT pg_current_wal_lsn()::text AS lsn`);
  const [hi, lo] = rows[0]!.lsn.split('/');
  const target = ((BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)) - 1n;

  const {run} = await startOnFreePort(env, listening);
  // the last writer commit is at or below `target`; wait for the replica to pass the last
  // commit we can see
  const {rows: last} = await c.query<{n: string}>(`SELECT count(*)::text AS n FROM k`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rep = replicaVersion(file) === '' ? [] : readReplicaTable(file, 'k');
    if (rep.length === Number(last[0]!.n)) {
      const up = (await c.query(`SELECT id, n FROM k ORDER BY id`)).rows;
      const sorted = [...rep].sort((a, b) => Number(a['id']) - Number(b['id']));
      if (JSON.stringify(sorted) === JSON.stringify(up)) break;
    }
    if (Date.now() > deadline) {
      throw new Error(`did not converge; target ${target.toString(16)} at ${replicaVersion(file)}`);
    }
    await new Promise(r => setTimeout(r, 50));
  }
  // The writer committed all along, so every round had changes to catch up on.
  expect(next).toBeGreaterThan(100_000 + moments.length);
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
  const log = out.join('') + run.output();
  expect(log).toContain('resuming replication');
  expect(log).not.toMatch(/postgres:postgres@/);
  await c.end();
}, 120_000);

test('an unreachable upstream is retried with backoff, without leaking the password', async () => {
  const {run} = await startOnFreePort(
    {
      ZERO_UPSTREAM_DB: 'postgres://someone:sup3r-s3cret@127.0.0.1:1/app',
      ZERO_REPLICA_FILE: tempReplicaFile(),
      ZERO_LOG_LEVEL: 'debug',
    },
    listening,
  );
  await outputMatches(run, /attempt=2/);
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
  const log = run.output();
  expect(log).toContain('connect to upstream failed; retrying');
  expect(log).toContain('postgres://127.0.0.1:1/app');
  expect(log).not.toContain('sup3r-s3cret');
  expect(log).not.toContain('someone');
});
