// The published package as users meet it: packed, installed into new apps outside the
// repository, each figure a new process. Also the gzipped browser bundle of a small app
// (Zero, ZeroProvider, useQuery) against the same app built with @rocicorp/zero 0.24,
// installed in a scratch folder in the same run (never a dependency of ours).
// Usage: npm run bench -- packaging
import {spawnSync} from 'node:child_process';
import {cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import pg from 'pg';
import {
  createApp,
  FIXTURES,
  install,
  localPrebuild,
  pack,
  REPO_SQLITE,
  scratchRoot,
} from '../test/packaging/scratch.ts';
import {startPostgres, startZeroCache, stopAll} from './e2e/harness.ts';
import {figure, show} from './e2e/stats.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 10);
const root = scratchRoot();

function timeProcess(args: readonly string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {cwd, stdio: 'ignore'});
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return ms;
}

function bundleSize(dir: string): {bytes: number; gzipBytes: number; nodeImports: string[]} {
  const r = spawnSync(process.execPath, ['bundle.mjs'], {cwd: dir, encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`bundle failed in ${dir}: ${r.stderr}`);
  return JSON.parse(r.stdout) as {bytes: number; gzipBytes: number; nodeImports: string[]};
}

/** The web fixture with its imports pointed at @rocicorp/zero. */
function zeroApp(): string {
  const dir = join(root, 'zero-024');
  mkdirSync(dir);
  cpSync(join(FIXTURES, 'web'), dir, {recursive: true});
  for (const f of readdirSync(join(dir, 'src'))) {
    const file = join(dir, 'src', f);
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replaceAll("from 'zync/react'", "from '@rocicorp/zero/react'")
        .replaceAll("from 'zync'", "from '@rocicorp/zero'"),
    );
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'zero-024',
      private: true,
      type: 'module',
      dependencies: {
        '@rocicorp/zero': '0.24.3000000000',
        react: '^19',
        'react-dom': '^19',
        esbuild: '^0.28.2',
      },
    }),
  );
  return dir;
}

try {
  const [tarball] = await Promise.all([pack(root), localPrebuild(root)]);
  const zync = `file:${tarball}`;
  const web = createApp(root, 'web', 'web', {
    zync,
    react: '^19',
    'react-dom': '^19',
    esbuild: '^0.28.2',
  });
  const node = createApp(
    root,
    'node-app',
    'node',
    // The repository's better-sqlite3 version, whose compiled addon the install reuses.
    {zync, 'better-sqlite3': REPO_SQLITE.version},
    {'better-sqlite3': true},
  );
  const zero = zeroApp();
  await Promise.all([install(web), install(node), install(zero)]);

  const bin = join(node, 'node_modules/zync/dist/bin/zero-cache.js');
  const help = figure(Array.from({length: RUNS}, () => timeProcess([bin, '--help'], node)));
  console.log(`zero-cache --help, installed package: ${show(help, 'ms')} (target ≤ 150 ms)`);

  const pgServer = await startPostgres();
  const c = new pg.Client({connectionString: pgServer.url});
  await c.connect();
  await c.query(`CREATE TABLE note (id text PRIMARY KEY, body text NOT NULL)`);
  await c.query(
    `INSERT INTO note SELECT 'n' || i, 'body ' || i FROM generate_series(1, 10000) AS i`,
  );
  await c.end();
  for (const [label, env] of [
    ['without a schema file', {}],
    ['with the app schema.ts', {ZERO_SCHEMA_PATH: 'schema.ts'}],
  ] as const) {
    const replicaFile = join(root, `replica-${label.length}.db`);
    const start = () =>
      startZeroCache({
        upstreamUrl: pgServer.url,
        replicaFile,
        appId: 'bench_pack',
        cwd: node,
        script: [bin],
        env,
      });
    await (await start()).stop(); // creates the replica
    const runs: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 7); i++) {
      const zc = await start();
      runs.push(zc.startMs);
      await zc.stop();
    }
    console.log(
      `zero-cache start until ready, existing replica, ${label}: ${show(figure(runs), 'ms')} (target ≤ 300 ms)`,
    );
  }

  const ours = bundleSize(web);
  const theirs = bundleSize(zero);
  if (ours.nodeImports.length > 0)
    throw new Error(`Node-only imports: ${ours.nodeImports.join(', ')}`);
  console.log(
    `browser bundle (esbuild, minified, React included): zync ${(ours.gzipBytes / 1024).toFixed(1)} KiB gzipped ` +
      `(${(ours.bytes / 1024).toFixed(0)} KiB), @rocicorp/zero 0.24 ${(theirs.gzipBytes / 1024).toFixed(1)} KiB ` +
      `gzipped (${(theirs.bytes / 1024).toFixed(0)} KiB): ratio ${(ours.gzipBytes / theirs.gzipBytes).toFixed(2)}`,
  );
} finally {
  await stopAll();
  rmSync(root, {recursive: true, force: true});
}
