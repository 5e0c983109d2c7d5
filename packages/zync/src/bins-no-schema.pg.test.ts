// `zero-cache-dev` for an app that uses only defined queries and mutators: no schema file,
// and zero-cache runs with the legacy API off (it then needs no permissions, even with
// NODE_ENV=production).
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import pg from 'pg';
import {afterAll, expect, test} from 'vitest';
import {sourceBinArgs} from '../../../scripts/source-bin.ts';
import {freePort} from '../../../test/free-port.ts';
import {createTestDatabase} from '../../../test/pg.ts';

const app = mkdtempSync(join(tmpdir(), 'zync-bins-noschema-'));
symlinkSync(resolve(import.meta.dirname, '../../../node_modules'), join(app, 'node_modules'));
afterAll(() => rmSync(app, {recursive: true, force: true}));

test('zero-cache-dev starts without a schema file, with raw queries and CRUD refused', async () => {
  const db = await createTestDatabase('bins_noschema');
  const c = new pg.Client({connectionString: db});
  await c.connect();
  await c.query(`CREATE TABLE issue (id text PRIMARY KEY)`);
  await c.end();
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(process.execPath, sourceBinArgs('zero-cache-dev'), {
    cwd: app,
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      ZERO_ADMIN_PASSWORD: 'an-admin-password',
      ZERO_UPSTREAM_DB: db,
      ZERO_REPLICA_FILE: join(app, 'replica.db'),
      ZERO_APP_ID: 'devnoschema',
      ZERO_PORT: String(port),
      ZERO_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
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
  try {
    await expect.poll(healthy, {timeout: 30_000, interval: 200}).toBe(true);
    expect(log).toContain('no schema file at');
    expect(log).toContain('ZERO_LEGACY_API=false');
    expect(log).toMatch(/Legacy API.*rawQueries.*false/);
    expect(log).not.toContain('NO PERMISSIONS');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});
