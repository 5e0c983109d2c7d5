// Runs zero-cache as a child process through the bin, kills it with SIGKILL at random
// moments while upstream keeps writing, and checks that the replica always converges.
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import Database from 'better-sqlite3';
import {afterAll, expect, test} from 'vitest';
import {sourceBinArgs} from '../../../../scripts/source-bin.ts';
import {freePort} from '../../../../test/free-port.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {pgClient, readReplicaTable, tempReplicaFile} from '../../test/replicator-helpers.ts';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function startBin(env: Record<string, string>, out: string[]): ChildProcess {
  const child = spawn(process.execPath, sourceBinArgs('zero-cache'), {
    env: {PATH: process.env['PATH'] ?? '', ZERO_LOG_LEVEL: 'debug', ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise(res => child.once('exit', code => res(code)));
}

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

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

test('SIGKILL at random moments during streaming always converges', async () => {
  const url = await createTestDatabase('crash');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE k (id int PRIMARY KEY, n int NOT NULL)`);
  await c.query(`INSERT INTO k SELECT i, 0 FROM generate_series(1, 20000) i`);
  const file = tempReplicaFile();
  const env = {
    ZERO_UPSTREAM_DB: url,
    ZERO_REPLICA_FILE: file,
    ZERO_APP_ID: `crash_${process.pid}`,
    ZERO_PORT: String(await freePort()),
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
  for (let round = 0; round < 4; round++) {
    const streams = out.join('').split('streaming changes').length;
    const child = startBin(env, out);
    // kill at a random moment once it streams (the first round may also hit the copy)
    const deadline = Date.now() + 20_000;
    while (round > 0 && out.join('').split('streaming changes').length === streams) {
      if (Date.now() > deadline) throw new Error('zero-cache did not start streaming');
      await sleep(20);
    }
    await sleep((round === 0 ? 1000 : 0) + Math.random() * 1000);
    child.kill('SIGKILL');
    await exited(child);
  }
  writing = false;
  await writer;
  const {rows} = await c.query<{lsn: string}>(`SELECT pg_current_wal_lsn()::text AS lsn`);
  const [hi, lo] = rows[0]!.lsn.split('/');
  const target = ((BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)) - 1n;

  const child = startBin(env, out);
  // the last writer commit is at or below `target`; wait for the replica to pass the last
  // commit we can see
  const {rows: last} = await c.query<{n: string}>(`SELECT count(*)::text AS n FROM k`);
  const deadline = Date.now() + 30_000;
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
    await sleep(200);
  }
  expect(next).toBeGreaterThan(100_100);
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
  const log = out.join('');
  expect(log).toContain('resuming replication');
  expect(log).not.toMatch(/postgres:postgres@/);
  await c.end();
}, 90_000);

test('an unreachable upstream is retried with backoff, without leaking the password', async () => {
  const out: string[] = [];
  const child = startBin(
    {
      ZERO_UPSTREAM_DB: 'postgres://someone:sup3r-s3cret@127.0.0.1:1/app',
      ZERO_REPLICA_FILE: tempReplicaFile(),
      ZERO_PORT: String(await freePort()),
    },
    out,
  );
  const deadline = Date.now() + 20_000;
  while (!/attempt=2/.test(out.join('')) && Date.now() < deadline) await sleep(100);
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
  const log = out.join('');
  expect(log).toContain('connect to upstream failed; retrying');
  expect(log).toContain('postgres://127.0.0.1:1/app');
  expect(log).not.toContain('sup3r-s3cret');
  expect(log).not.toContain('someone');
});
