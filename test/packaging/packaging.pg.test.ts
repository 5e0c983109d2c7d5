// The published package, as users get it: `npm pack`, then `npm install <tarball>` into new
// apps outside this repository, each run with the tools a user has (node, tsc, vite,
// esbuild, npx). Nothing here resolves into the repository's own node_modules.
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {freePort} from '../free-port.ts';
import {createTestDatabase} from '../pg.ts';
import {
  REPO_SQLITE,
  SQLITE_ADDON,
  createApp,
  install,
  localPrebuild,
  mustRun,
  pack,
  run,
  scratchRoot,
  userEnv,
} from './scratch.ts';

const INSTALL_MS = 900_000;
const root = scratchRoot();
let tarball = '';
const apps = {web19: '', web18: '', node: ''};
const children: ChildProcess[] = [];

beforeAll(async () => {
  [tarball] = await Promise.all([pack(root), localPrebuild(root)]);
  const zync = `file:${tarball}`;
  const web = (react: string) => ({
    zync,
    react: `^${react}`,
    'react-dom': `^${react}`,
    '@types/react': `^${react}`,
    '@types/react-dom': `^${react}`,
    typescript: '^5.9.3',
    vite: '^8.3.8',
    esbuild: '^0.28.2',
  });
  apps.web19 = createApp(root, 'web19', 'web', web('19'));
  apps.web18 = createApp(root, 'web18', 'web', web('18'));
  apps.node = createApp(
    root,
    'node-app',
    'node',
    {
      zync,
      pg: '^8.23.1',
      // The repository's version, whose addon the install reuses (localPrebuild).
      'better-sqlite3': REPO_SQLITE.version,
      hono: '^4.13.19',
      '@hono/node-server': '^2.1.9',
      ws: '^8.23.0',
    },
    {'better-sqlite3': true},
  );
  await Promise.all(Object.values(apps).map(install));
}, INSTALL_MS);

afterAll(() => {
  // Each child leads its own process group: `npx` runs zero-cache as its child, and zero-cache
  // forks the replicator and the sync workers; killing npx alone would leave them running.
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // The whole group has exited already.
    }
  }
  rmSync(root, {recursive: true, force: true});
});

test('the tarball holds built JavaScript and types, and no sources or tests', async () => {
  const listing = await mustRun('tar', ['-tzf', tarball], root);
  const files = listing.trim().split('\n');
  expect(files).toContain('package/dist/index.js');
  expect(files).toContain('package/dist/index.d.ts');
  expect(files).toContain('package/dist/bin/zero-cache.js');
  expect(files).toContain('package/dist/bin/analyze-query.js');
  // The child processes zero-cache forks with ZERO_NUM_SYNC_WORKERS > 1.
  expect(files).toContain('package/dist/bin/replicator.js');
  expect(files).toContain('package/dist/bin/sync-worker.js');
  expect(files).toContain('package/README.md');
  expect(files).toContain('package/CHANGELOG.md');
  expect(files).toContain('package/LICENSE');
  expect(
    files.filter(f => /\.test\.|\.bench\.|\/src\/|\.ts$/.test(f) && !f.endsWith('.d.ts')),
  ).toEqual([]);
  const manifest = JSON.parse(
    readFileSync(join(apps.web19, 'node_modules/zync/package.json'), 'utf8'),
  ) as {dependencies: Record<string, string>; peerDependencies: Record<string, string>};
  expect(Object.keys(manifest.dependencies).filter(d => d.startsWith('@zync/'))).toEqual([]);
  expect(Object.keys(manifest.peerDependencies).sort()).toEqual(
    ['better-sqlite3', 'expo-sqlite', 'postgres', 'react'].sort(),
  );
});

describe.each([
  ['React 19', () => apps.web19],
  ['React 18', () => apps.web18],
])('a Vite app on %s', (_name, dir) => {
  test('passes tsc --noEmit under strict flags, with skipLibCheck off', async () => {
    const r = await run('node_modules/.bin/tsc', ['-p', 'tsconfig.json'], dir());
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  test('builds with vite build', async () => {
    const out = await mustRun('npx', ['--no', 'vite', 'build'], dir());
    expect(out).toMatch(/dist\/assets\/index-.*\.js/);
  });
});

test("type-checks with Next.js's default tsconfig shape, 'use client' on zync/react", async () => {
  const r = await run('node_modules/.bin/tsc', ['-p', 'tsconfig.next.json'], apps.web19);
  expect(r.out).toBe('');
  expect(r.code).toBe(0);
  const react = readFileSync(join(apps.web19, 'node_modules/zync/dist/react.js'), 'utf8');
  expect(react.startsWith('"use client";') || react.startsWith("'use client';")).toBe(true);
});

test('a browser bundle (esbuild, platform browser) pulls in nothing Node-only', async () => {
  const out = await mustRun('node', ['bundle.mjs'], apps.web19);
  const size = JSON.parse(out) as {bytes: number; gzipBytes: number; nodeImports: string[]};
  expect(size.nodeImports).toEqual([]);
  expect(size.gzipBytes).toBeGreaterThan(0);
  console.log(`browser bundle of the small app: ${size.bytes} B, ${size.gzipBytes} B gzipped`);
});

/** Starts a long-running process; resolves with its first stdout/stderr line matching `ready`. */
function startProcess(
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<{child: ChildProcess; match: RegExpMatchArray; log: () => string}> {
  const [cmd, ...rest] = args;
  const child = spawn(cmd!, rest, {cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true});
  children.push(child);
  let log = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      log += d.toString();
      const match = log.match(ready);
      if (match) resolve({child, match, log: () => log});
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', code => reject(new Error(`${args.join(' ')} exited (${code}):\n${log}`)));
  });
}

describe('a plain Node app: API server, npx zero-cache and a client, on real Postgres', () => {
  test("its better-sqlite3 is the registry's package with the repository's compiled addon", () => {
    const installed = join(apps.node, 'node_modules', 'better-sqlite3');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(manifest.version).toBe(REPO_SQLITE.version);
    // Byte for byte: the install unpacked the local prebuild instead of compiling one.
    expect(
      readFileSync(join(installed, SQLITE_ADDON)).equals(
        readFileSync(join(REPO_SQLITE.dir, SQLITE_ADDON)),
      ),
      "better-sqlite3's install did not unpack the local prebuilt binary (localPrebuild's " +
        'file name matched no download name, so it downloaded or compiled one)',
    ).toBe(true);
  });

  test('the commands run on plain node (their shebang), not through tsx', async () => {
    const help = await mustRun('node_modules/.bin/zero-cache', ['--help'], apps.node);
    expect(help).toContain('ZERO_UPSTREAM_DB');
    const perms = await mustRun(
      'node_modules/.bin/zero-deploy-permissions',
      ['--schema-path', 'schema.ts'],
      apps.node,
    );
    expect(perms).toContain('Permissions are valid.');
  });

  test('the API server (node, zync/server and its pg adapter) serves push and get-queries to zero-cache, which serves a client', async () => {
    const db = await createTestDatabase('packaging');
    const c = new pg.Client({connectionString: db});
    await c.connect();
    await c.query(`CREATE TABLE note (id text PRIMARY KEY, body text NOT NULL)`);
    await c.query(`INSERT INTO note VALUES ('n1', 'seeded')`);

    const api = await startProcess(
      ['node', 'server.mjs'],
      apps.node,
      userEnv({DATABASE_URL: db}),
      /listening (\d+)/,
    );
    const apiUrl = `http://127.0.0.1:${api.match[1]}`;
    const port = await freePort();
    await startProcess(
      ['npx', '--no', 'zero-cache'],
      apps.node,
      userEnv({
        ZERO_UPSTREAM_DB: db,
        ZERO_REPLICA_FILE: join(apps.node, 'replica.db'),
        ZERO_APP_ID: 'packaging',
        ZERO_PORT: String(port),
        ZERO_HOST: '127.0.0.1',
        ZERO_SCHEMA_PATH: 'schema.ts',
        ZERO_MUTATE_URL: `${apiUrl}/push`,
        ZERO_GET_QUERIES_URL: `${apiUrl}/get-queries`,
        // A dispatcher, the replicator and two workers: the compiled child entry points.
        ZERO_NUM_SYNC_WORKERS: '2',
      }),
      /zero-cache ready/,
    );

    const out = await mustRun(
      'node',
      ['client.mjs'],
      apps.node,
      userEnv({CACHE_URL: `http://127.0.0.1:${port}`}),
    );
    const seen = JSON.parse(out.trim().split('\n').pop()!) as {
      seeded: {id: string; body: string}[];
      done: {id: string; body: string}[];
    };
    expect(seen.seeded).toEqual([{id: 'n1', body: 'seeded'}]);
    expect(seen.done).toEqual([
      {id: 'n1', body: 'seeded'},
      {id: 'n2', body: 'from the client (server)'},
    ]);
    const rows = await c.query<{id: string; body: string}>(`SELECT id, body FROM note ORDER BY id`);
    expect(rows.rows).toEqual(seen.done);
    await c.end();

    // The compiled analyze-query reads the replica zero-cache is serving from.
    const analysis = JSON.parse(
      await mustRun(
        'node_modules/.bin/analyze-query',
        ['--json', '--query', 'note.where("body", "seeded")'],
        apps.node,
        userEnv({ZERO_SCHEMA_PATH: 'schema.ts', ZERO_REPLICA_FILE: 'replica.db'}),
      ),
    ) as {syncedRows: number; missingIndexes: {createIndex: string}[]};
    expect(analysis.syncedRows).toBe(1);
    expect(analysis.missingIndexes.map(m => m.createIndex)).toEqual([
      'CREATE INDEX ON "note" ("body");',
    ]);
  });
});
