// The development commands, run from their sources as the repository runs them: node, the
// command, env and arguments. (The compiled commands of the published package are tested
// from an installed tarball in test/packaging.)
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {sourceBinArgs} from '../../../scripts/source-bin.ts';
import pg from 'pg';
import {afterAll, describe, expect, test} from 'vitest';
import {freePort} from '../../../test/free-port.ts';
import {createTestDatabase} from '../../../test/pg.ts';

const repoNodeModules = resolve(import.meta.dirname, '../../../node_modules');
// An "app" directory with its own node_modules (the repo's, holding `zync`).
const app = mkdtempSync(join(tmpdir(), 'zync-bins-'));
symlinkSync(repoNodeModules, join(app, 'node_modules'), 'dir');
afterAll(() => rmSync(app, {recursive: true, force: true}));

const schemaText = (selectIssue: string) => `
import {ANYONE_CAN, createSchema, definePermissions, string, table} from 'zync';
const issue = table('issue').columns({id: string(), owner: string()}).primaryKey('id');
const note = table('note').columns({id: string()}).primaryKey('id');
export const schema = createSchema({tables: [issue, note]});
export const permissions = definePermissions<{sub: string}, typeof schema>(schema, () => ({
  issue: {row: {select: ${selectIssue}}},
  note: {row: {select: ANYONE_CAN, insert: ANYONE_CAN}},
}));
`;
const OWNER_RULE = `[(a, {cmp}) => cmp('owner', a.sub)]`;

function write(name: string, text: string): string {
  const file = join(app, name);
  writeFileSync(file, text);
  return file;
}

describe('zero-deploy-permissions', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...sourceBinArgs('zero-deploy-permissions'), ...args], {
      cwd: app,
      encoding: 'utf8',
      env: {PATH: process.env['PATH'] ?? ''},
    });

  test('a valid file: each table and its rules, exit 0', () => {
    write('schema.ts', schemaText(OWNER_RULE));
    const r = run('--schema-path', 'schema.ts');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('schema with 2 tables');
    expect(r.stdout).toMatch(/issue: select 1 rule\(s\) \(reads claims\), insert deny/);
    expect(r.stdout).toMatch(/note: select 1 rule\(s\), insert 1 rule\(s\)/);
    expect(r.stdout).toContain('Permissions are valid.');
  });

  test('a broken file: one line naming the problem, exit 1', () => {
    write('broken.ts', schemaText(`'everyone'`));
    const r = run('--schema-path', 'broken.ts');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^zero-deploy-permissions: .*broken\.ts: .*issue\.row\.select must be an array of rules/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('--help', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: zero-deploy-permissions');
  });
});

describe('zero-cache-dev', () => {
  test('starts zero-cache, keeps it on a broken edit, restarts it on a good one', async () => {
    const db = await createTestDatabase('bins');
    const c = new pg.Client({connectionString: db});
    await c.connect();
    await c.query(`CREATE TABLE issue (id text PRIMARY KEY, owner text NOT NULL)`);
    await c.query(`CREATE TABLE note (id text PRIMARY KEY)`);
    await c.end();
    const schema = write('dev-schema.ts', schemaText(OWNER_RULE));
    const port = await freePort();
    let log = '';
    const child: ChildProcess = spawn(process.execPath, sourceBinArgs('zero-cache-dev'), {
      cwd: app,
      env: {
        PATH: process.env['PATH'] ?? '',
        ZERO_SCHEMA_PATH: schema,
        ZERO_UPSTREAM_DB: db,
        ZERO_REPLICA_FILE: join(app, 'dev-replica.db'),
        ZERO_APP_ID: 'devbin',
        ZERO_PORT: String(port),
        ZERO_HOST: '127.0.0.1',
        ZERO_AUTH_SECRET: 'a-test-secret-of-at-least-32-characters!!',
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
      expect(log).toMatch(/zero-cache-dev: watching \d+ file\(s\)/);

      // A broken edit: the error is printed, the running zero-cache keeps serving.
      write('dev-schema.ts', schemaText(`'everyone'`));
      await expect
        .poll(() => /zero-cache-dev: .*must be an array of rules/.test(log), {timeout: 10_000})
        .toBe(true);
      expect(log).not.toContain('restarting zero-cache');
      expect(await healthy()).toBe(true);

      // A good edit: zero-cache restarts with it.
      write('dev-schema.ts', schemaText('[]'));
      await expect
        .poll(() => log.includes('schema file changed: restarting zero-cache'), {timeout: 10_000})
        .toBe(true);
      await expect.poll(healthy, {timeout: 30_000, interval: 200}).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
