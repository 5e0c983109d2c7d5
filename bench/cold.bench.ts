// Cold clients: what a user's first visit costs. Each run is a new Node process (the client
// bundled by esbuild into one .mjs, as an app ships it; or from the sources through tsx),
// or a new Chromium with IndexedDB, against zero-cache as a separate process; and the
// first client right after zero-cache starts. `floor` is a new Node process that only
// loads `ws`, sends the same connect frame and waits for the poke: no client can finish
// earlier. Every phase is on the client's own clock (process start or navigation = 0). Writes bench/results/cold.json and
// docs/performance/cold-phases.svg.
//
//   npm run bench -- cold
//
// Environment (all optional):
//   BENCH_SIZES=10000,100000       table sizes
//   BENCH_RUNS=5                   runs per figure (median, min, max)
//   BENCH_COLD=bundle,tsx,chromium,fresh,floor
//   BENCH_CLIENT_PROF=<dir>        bundled Node clients run with `--cpu-prof` into <dir>
//   BENCH_NO_WRITE=1               print only
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {execSync} from 'node:child_process';
import pg from 'pg';
import {SYNC_PATH} from '@zync/protocol';
import {createBuilder} from 'zync';
import {DEFAULT_TTL_MS} from '../packages/client/src/zero/ttl.ts';
import {benchSchema, sizedTable} from './e2e/clients.ts';
import {startPostgres, startZeroCache, stopAll} from './e2e/harness.ts';
import type {Ctx} from './e2e/scenarios.ts';
import {settle} from './e2e/scenarios.ts';
import type {Run} from './cold/runners.ts';
import {bundleClient, FLOOR_CLIENT, runNodeClient, runPage} from './cold/runners.ts';
import type {NodeMode} from './cold/runners.ts';
import type {Scenario} from './cold/report.ts';
import {line, phaseChart, summarize, table} from './cold/report.ts';

const env = process.env;
const sizes = (env['BENCH_SIZES'] ?? '10000,100000').split(',').map(Number);
const runs = Number(env['BENCH_RUNS'] ?? 5);
const wanted = new Set((env['BENCH_COLD'] ?? 'bundle,tsx,chromium,fresh,floor').split(','));
const prof = env['BENCH_CLIENT_PROF'];
const root = join(import.meta.dirname, '..');
const TARGETS: Record<string, Record<number, number>> = {
  'node, bundled': {10_000: 120, 100_000: 800},
  'chromium, idb': {10_000: 250},
};

type FloorQuery = {hash(): string; ast: unknown};

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  const pgServer = await startPostgres();
  const db = new pg.Client({connectionString: pgServer.url});
  await db.connect();
  const scenarios: Scenario[] = [];
  const loadStart = loadavg();
  try {
    for (const n of sizes) {
      await db.query(`CREATE TABLE ${sizedTable(n)} (id int PRIMARY KEY, owner int NOT NULL,
        title text NOT NULL, score float8 NOT NULL)`);
      await db.query(`INSERT INTO ${sizedTable(n)} SELECT g, g % 100, 'row title ' || g,
        g * 0.5 FROM generate_series(1, ${n}) g`);
    }
    await db.query('VACUUM ANALYZE');
    const start = () =>
      startZeroCache({
        upstreamUrl: pgServer.url,
        replicaFile: join(pgServer.dir, 'replica.db'),
        appId: 'cold',
      });
    const ctx: Ctx = {db, zc: await start(), schema: benchSchema(sizes), sizes, runs};
    const file = await bundleClient();
    const bundle: NodeMode = {kind: 'bundle', file};
    const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
    const floor: NodeMode = {kind: 'bundle', file: await bundleClient(FLOOR_CLIENT)};
    const socketURL = () => `${ctx.zc.url.replace(/^http/, 'ws')}${SYNC_PATH}`;
    // The desired query as the client sends it in its connect frame.
    const desired = (n: number) => {
      const q = (createBuilder(ctx.schema) as unknown as Record<string, FloorQuery>)[
        sizedTable(n)
      ]!;
      return JSON.stringify([{op: 'put', hash: q.hash(), ast: q.ast, ttlMs: DEFAULT_TTL_MS}]);
    };

    const measure = async (
      name: string,
      rows: number,
      one: () => Promise<Run>,
      before: () => Promise<void> = () => settle(ctx),
    ) => {
      const got: Run[] = [];
      for (let r = 0; r < runs; r++) {
        await before();
        got.push(await one());
      }
      const s = summarize(name, rows, got, TARGETS[name]?.[rows]);
      scenarios.push(s);
      console.log(line(s));
    };

    // A warm server: one discarded sync of each size first (the server's own cold start is
    // the `fresh` scenario).
    for (const n of sizes) await runNodeClient(bundle, ctx.zc.url, n);
    for (const n of sizes) {
      if (wanted.has('bundle')) {
        await measure('node, bundled', n, () => runNodeClient(bundle, ctx.zc.url, n, profArgs));
      }
      if (wanted.has('tsx')) {
        await measure('node, tsx', n, () => runNodeClient({kind: 'tsx'}, ctx.zc.url, n));
      }
      if (wanted.has('chromium')) {
        await measure('chromium, idb', n, () => runPage(ctx.zc.url, n));
      }
      if (wanted.has('floor')) {
        await measure('node, socket only', n, () =>
          runNodeClient(floor, socketURL(), n, [], [desired(n)]),
        );
      }
    }
    if (wanted.has('fresh')) {
      for (const n of sizes) {
        const restart = async () => {
          await ctx.zc.stop();
          ctx.zc = await start();
        };
        await measure('node, fresh server', n, () => runNodeClient(bundle, ctx.zc.url, n), restart);
      }
    }
    await ctx.zc.stop();
  } finally {
    await db.end().catch(() => {});
  }
  const md = table(scenarios);
  console.log(`\nload average at start ${loadStart}, at end ${loadavg()}\n\n${md}`);
  if (!env['BENCH_NO_WRITE']) {
    let commit = '';
    try {
      commit = execSync('git rev-parse --short HEAD', {cwd: root}).toString().trim();
    } catch {
      // not a checkout
    }
    const meta = {date: new Date().toISOString(), commit, node: process.version, runs, loadStart};
    mkdirSync(join(root, 'bench/results'), {recursive: true});
    writeFileSync(
      join(root, 'bench/results/cold.json'),
      `${JSON.stringify({meta: {...meta, loadEnd: loadavg()}, scenarios}, null, 2)}\n`,
    );
    writeFileSync(
      join(root, 'docs/performance/cold-phases.svg'),
      `${phaseChart('Cold clients: phases until the view is complete', scenarios)}\n`,
    );
    console.log('\nwrote bench/results/cold.json, docs/performance/cold-phases.svg');
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void stopAll().finally(() => process.exit(130)));
}
try {
  await main();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await stopAll();
  process.exit();
}
