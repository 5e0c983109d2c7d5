// The embedded Postgres helper runs from a folder other users cannot enter (a clone under
// /root or in `mktemp -d`). As root, which CI is, Postgres runs as another user: this is
// the case that used to fail with "Permission denied".
import {cpSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import pg from 'pg';
import {afterAll, expect, test} from 'vitest';
import {
  installedNativeDir,
  RUNTIME_DIR,
  startEmbeddedPostgres,
} from '../scripts/embedded-postgres.ts';
import {freePort} from './free-port.ts';

const isRoot = process.getuid?.() === 0;
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, {recursive: true, force: true});
});

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({connectionString: url});
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

function uidOf(pid: number): number {
  const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

test('starts, keeps data across restarts, from binaries and data in a mode-700 folder', async () => {
  // A closed folder like `mktemp -d`, holding the binaries' package and the data folder.
  const closed = mkdtempSync(join(tmpdir(), 'zync-closed-'));
  cleanup.push(closed);
  expect(statSync(closed).mode & 0o777).toBe(0o700);
  const pkg = join(closed, 'node_modules', 'pg-binaries');
  cpSync(dirname(installedNativeDir()), pkg, {recursive: true, verbatimSymlinks: true});
  const dataDir = join(closed, '.data', 'pg');
  const notices: string[] = [];
  const options = {
    port: await freePort(),
    dataDir,
    nativeDir: join(pkg, 'native'),
    flags: ['-c', 'listen_addresses=127.0.0.1'],
    onNotice: (l: string) => notices.push(l),
  };

  const first = await startEmbeddedPostgres(options);
  try {
    expect(first.created).toBe(true);
    await query(first.url(), 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    if (isRoot) {
      // really the root path: the server is another user, running from outside `closed`
      expect(uidOf(first.pid)).not.toBe(0);
      expect(first.nativeDir.startsWith(`${RUNTIME_DIR}/`)).toBe(true);
      expect(first.dataDir.startsWith(`${RUNTIME_DIR}/data-`)).toBe(true);
      expect(notices).toEqual([
        `the "postgres" user cannot enter ${dataDir} (a parent folder is closed to other ` +
          `users); the Postgres cluster is kept in ${first.dataDir} instead`,
      ]);
      cleanup.push(first.dataDir);
    } else {
      expect(first.nativeDir).toBe(options.nativeDir);
      expect(first.dataDir).toBe(dataDir);
    }
    // nothing of the user's was opened up
    expect(statSync(closed).mode & 0o777).toBe(0o700);
  } finally {
    await first.stop();
  }

  // the same data folder next time: the cluster (and its rows) is found again
  const second = await startEmbeddedPostgres(options);
  try {
    expect(second.dataDir).toBe(first.dataDir);
    expect(second.created).toBe(false);
    expect(await query(second.url(), 'SELECT n FROM kept')).toEqual([{n: 42}]);
  } finally {
    await second.stop();
  }
});

test('a temporary cluster is removed by stop()', async () => {
  const server = await startEmbeddedPostgres({
    port: await freePort(),
    flags: ['-c', 'listen_addresses=127.0.0.1'],
  });
  expect(await query(server.url(), 'SELECT 1 AS one')).toEqual([{one: 1}]);
  if (isRoot) expect(uidOf(server.pid)).not.toBe(0);
  await server.stop();
  expect(() => statSync(server.dataDir)).toThrow(/ENOENT/);
});
