// The quick start itself: `npm start`'s script with a fresh data directory reaches "ready",
// serves the page, and stops every process it started on SIGINT.
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, expect, test} from 'vitest';
import {COMPILED_BINS_ENV} from '../../../scripts/source-bin.ts';
import {freePort} from '../../../test/free-port.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'hello-quick-start-'));
afterAll(() => rmSync(dataDir, {recursive: true, force: true}));

test('npm start from an empty data directory reaches ready and serves the app', async () => {
  const ports = {
    ZYNC_PG_PORT: await freePort(),
    ZYNC_WEB_PORT: await freePort(),
    ZYNC_API_PORT: await freePort(),
    ZERO_PORT: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {};
  // As `npm start` runs on a user's machine: zero-cache from its sources through tsx, not the
  // test run's compiled commands (COMPILED_BINS_ENV).
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ZERO_') && k !== COMPILED_BINS_ENV) env[k] = v;
  }
  const child = spawn(
    process.execPath,
    ['--conditions=zync-source', '--import', 'tsx', 'scripts/start.ts', '--auth=jwks'],
    {
      cwd: repoRoot,
      env: {
        ...env,
        ZYNC_DATA_DIR: dataDir,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 90 s:\n${out}`)), 90_000);
      child.stdout.on('data', () => {
        const m = /ready: open (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      void exited.then(code => reject(new Error(`npm start exited (${code}):\n${out}`)));
    });
    expect(url).toBe(`http://127.0.0.1:${ports.ZYNC_WEB_PORT}/`);
    expect(out).toContain('seeded users and issues');
    expect(out).toMatch(/first replication \[#+\] 100%/);
    const page = await (await fetch(url)).text();
    expect(page).toContain('<div id="root">');
    const config = (await (await fetch(`${url}api/config`)).json()) as {mode: string};
    expect(config.mode).toBe('jwks');
  } finally {
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }
  // Everything it started is gone: the ports are free again.
  for (const port of Object.values(ports)) {
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }
}, 150_000);
