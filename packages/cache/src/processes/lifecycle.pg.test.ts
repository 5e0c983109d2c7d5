// The `zero-cache` command with two sync workers, as a process tree: SIGTERM drains (clients
// are told to reconnect, every process exits by itself, none killed at the drain deadline,
// exit code 0), and a failure that a restart cannot fix stops every process with one line
// and exit code 1.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, expect, test} from 'vitest';
import {SYNC_PATH} from '@zync/protocol';
import {sourceBinArgs} from '../../../../scripts/source-bin.ts';
import {freePort} from '../../../../test/free-port.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {upstreamNames} from '../replicator/upstream.ts';
import {workerIndexFor} from './routing.ts';

const dir = mkdtempSync(join(tmpdir(), 'zync-lifecycle-'));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, {recursive: true, force: true});
});

async function startCommand(name: string) {
  const url = await createTestDatabase(`procs_${name}`);
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, v INT NOT NULL);
    INSERT INTO item VALUES ('a', 1);`);
  const port = await freePort();
  const appId = `life_${name}_${process.pid}`;
  const child = spawn(process.execPath, sourceBinArgs('zero-cache'), {
    env: {
      PATH: process.env['PATH'] ?? '',
      ZERO_UPSTREAM_DB: url,
      ZERO_REPLICA_FILE: join(dir, `${name}.db`),
      ZERO_APP_ID: appId,
      ZERO_PORT: String(port),
      ZERO_HOST: '127.0.0.1',
      ZERO_NUM_SYNC_WORKERS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stdout?.on('data', () => {});
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>(r => child.once('exit', code => r(code)));
  const healthy = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, {signal: AbortSignal.timeout(500)});
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  };
  await expect.poll(healthy, {timeout: 60_000, interval: 100}).toBe(true);
  // The dispatcher's children: the replicator and the workers (their sources, or the files
  // compiled from them).
  const pids = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(l =>
      /processes\/(sync-worker|replicator-process)\.ts|\/(sync-worker|replicator)\.js/.test(l),
    )
    .map(l => Number(l.trim().split(/\s+/)[0]));
  return {db, port, appId, child, exited, pids, stderr: () => stderr};
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('SIGTERM: every socket is closed with 1012 (reconnect now), every process exits by itself, code 0', async () => {
  const z = await startCommand('drain');
  expect(z.pids).toHaveLength(3);
  const clients: TestClient[] = [];
  for (let i = 0; clients.length < 4; i++) {
    // Two groups on each worker.
    const group = `drain-${i}`;
    if (clients.filter(c => c.ws.url.endsWith(`=${group}`)).length > 0) continue;
    const onWorker = workerIndexFor(group, 2);
    const mine = clients.filter(c => workerIndexFor(c.ws.url.split('=')[1]!, 2) === onWorker);
    if (mine.length >= 2) continue;
    const c = await TestClient.open(z.port, `${SYNC_PATH}?clientGroupID=${group}`);
    c.connect({
      clientID: `${group}-c`,
      clientGroupID: group,
      desiredQueries: [{op: 'put', hash: 'h', ast: {kind: 'query', table: 'item'}}],
    });
    await c.poke(10_000);
    clients.push(c);
  }
  z.child.kill('SIGTERM');
  const code = await z.exited;
  expect(code).toBe(0);
  // Every child exited by itself: none was still running at the drain deadline (8 s) and
  // killed, which is what bounds the command's exit (docs/processes.md).
  expect(z.stderr()).not.toContain('did not exit in time');
  for (const c of clients) expect(await c.closed).toEqual({code: 1012, reason: expect.any(String)});
  for (const pid of z.pids) expect(alive(pid)).toBe(false);
  await z.db.end();
});

test('a failure no restart can fix (the slot is dropped upstream): every process stops, one line, code 1', async () => {
  const z = await startCommand('fatal');
  const {slot} = upstreamNames(z.appId);
  // Cut the replicator's stream and drop its slot before it reconnects.
  for (let i = 0; i < 200; i++) {
    await z.db.query(
      `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
       WHERE slot_name = $1 AND active_pid IS NOT NULL`,
      [slot],
    );
    const dropped = await z.db.query(`SELECT pg_drop_replication_slot($1)`, [slot]).then(
      () => true,
      () => false,
    );
    if (dropped) break;
  }
  expect(await z.exited).toBe(1);
  const lines = z.stderr().split('\n');
  const final = lines.filter(l => l.startsWith('zero-cache: '));
  expect(final).toEqual([
    expect.stringMatching(/^zero-cache: replication slot \S+ no longer exists upstream/),
  ]);
  expect(z.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  for (const pid of z.pids) expect(alive(pid)).toBe(false);
  await z.db.end();
});
