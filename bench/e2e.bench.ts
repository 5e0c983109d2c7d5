// End-to-end benchmark: embedded Postgres, zero-cache as a separate process (the bin,
// configured by env), a real API server (zync/server's PushProcessor) and real `Zero`
// clients in this process. Writes bench/results/e2e.{json,md} and docs/performance/*.svg.
//
//   npm run bench -- e2e
//
// Environment (all optional):
//   BENCH_SIZES=10000,100000   table sizes for initial sync (the largest is used for memory)
//   BENCH_RUNS=3               runs per figure (median, min, max)
//   BENCH_SCENARIOS=sync,latency,fanout,mutations,memory,sweep,coldstart
//   BENCH_SWEEP=1,10,100,500   client counts for the scale sweep
//   BENCH_CPU_PROF=<dir>       run zero-cache with `--cpu-prof --cpu-prof-dir=<dir>`
//   BENCH_NO_WRITE=1           print only; leave bench/results and docs/performance alone
import {readFileSync} from 'node:fs';
import {cpus, totalmem} from 'node:os';
import {join} from 'node:path';
import {execSync} from 'node:child_process';
import pg from 'pg';
import {startApiServer} from '../test/e2e/api-server.ts';
import {benchSchema, serverMutators, sizedTable} from './e2e/clients.ts';
import {onStop, sleep, startPostgres, startZeroCache, stopAll} from './e2e/harness.ts';
import type {ZeroCacheProcess} from './e2e/harness.ts';
import type {Results} from './e2e/report.ts';
import {merge, summary, writeReport} from './e2e/report.ts';
import type {Ctx} from './e2e/scenarios.ts';
import {
  churn,
  fanOut,
  initialSync,
  mutations,
  rssSample,
  sweep,
  writeLatency,
} from './e2e/scenarios.ts';
import {ints} from './e2e/options.ts';
import {figure, show} from './e2e/stats.ts';

const env = process.env;
const sizes = ints(env['BENCH_SIZES'], '10000,100000');
const runs = ints(env['BENCH_RUNS'], '3')[0] ?? 3;
const sweepCounts = ints(env['BENCH_SWEEP'], '1,10,100,500');
const wanted = new Set(
  (env['BENCH_SCENARIOS'] ?? 'sync,latency,fanout,mutations,memory,sweep,coldstart').split(','),
);
const cpuProf = env['BENCH_CPU_PROF'];
const root = join(import.meta.dirname, '..');

async function seed(db: pg.Client): Promise<number> {
  let rows = 0;
  for (const n of sizes) {
    await db.query(`CREATE TABLE ${sizedTable(n)} (id int PRIMARY KEY, owner int NOT NULL,
      title text NOT NULL, score float8 NOT NULL)`);
    await db.query(`INSERT INTO ${sizedTable(n)} SELECT g, g % 100, 'row title ' || g, g * 0.5
      FROM generate_series(1, ${n}) g`);
    rows += n;
  }
  await db.query(`CREATE TABLE fan (id int PRIMARY KEY, owner int NOT NULL, title text NOT NULL,
    score float8 NOT NULL)`);
  await db.query(`CREATE INDEX ON fan (owner)`);
  await db.query(`INSERT INTO fan SELECT g, (g - 1) / 1000, 'fan row ' || g, g
    FROM generate_series(1, 50000) g`);
  await db.query(`CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL)`);
  await db.query(`INSERT INTO hot VALUES (1, 0), (2, 0), (3, 0)`);
  await db.query(
    `CREATE TABLE item (id text PRIMARY KEY, title text NOT NULL, votes int NOT NULL)`,
  );
  await db.query('VACUUM ANALYZE');
  return rows + 50_003;
}

function copyRate(zc: ZeroCacheProcess): {rows: number; ms: number} {
  let rows = 0;
  let ms = 0;
  for (const line of zc.log().split('\n')) {
    if (!line.includes(' copied table ')) continue;
    rows += Number(/ rows=(\d+)/.exec(line)?.[1] ?? 0);
    ms += Number(/ ms=([\d.]+)/.exec(line)?.[1] ?? 0);
  }
  return {rows, ms};
}

function meta(): Record<string, string | number> {
  let commit = '';
  try {
    commit = execSync('git rev-parse --short HEAD', {cwd: root}).toString().trim();
  } catch {
    // not a checkout
  }
  return {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? '?'} x ${cpus().length}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadavgAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    sizes: sizes.join(','),
    runs,
  };
}

async function main(): Promise<void> {
  const results: Results = {meta: meta()};
  const pgServer = await startPostgres();
  const db = new pg.Client({connectionString: pgServer.url});
  await db.connect();
  try {
    const total = await seed(db);
    console.log(
      `seeded ${total.toLocaleString('en')} rows (tables ${sizes.map(sizedTable).join(', ')}, fan, hot, item)`,
    );
    const schema = benchSchema(sizes);
    const api = await startApiServer(pgServer.url, schema, serverMutators);
    onStop(() => api.close());
    const replicaFile = join(pgServer.dir, 'replica.db');
    const appId = 'bench';
    const nodeArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
    const start = () =>
      startZeroCache({
        upstreamUrl: pgServer.url,
        replicaFile,
        appId,
        mutateUrl: api.url,
        nodeArgs,
      });

    // The first start copies everything: that is one run of the copy rate.
    const copyRuns: number[] = [];
    const e2eRuns: number[] = [];
    let zc = await start();
    const c0 = copyRate(zc);
    copyRuns.push((c0.rows * 1000) / c0.ms);
    e2eRuns.push((c0.rows * 1000) / zc.startMs);

    await sleep(3000);
    const idle = await rssSample(zc);
    results.memory = {idleMiB: idle};
    console.log(`zero-cache idle RSS: ${show(idle, 'MiB')}`);
    const ctx: Ctx = {db, zc, schema, sizes, runs};

    // Each scenario gets a fresh zero-cache (same replica, ~1 s): client groups stay in
    // memory for ZERO's group idle time (30 s) after their clients leave, and their CVR
    // writes continue after the poke, so a previous scenario would otherwise skew the next.
    const fresh = async () => {
      await zc.stop();
      zc = await start();
      ctx.zc = zc;
      await sleep(1000);
    };
    if (wanted.has('sync')) {
      results.initialSync = await initialSync(ctx);
    }
    if (wanted.has('latency')) {
      await fresh();
      results.writeLatency = await writeLatency(ctx);
    }
    if (wanted.has('fanout')) {
      await fresh();
      results.fanOut = await fanOut(ctx);
      results.memory.with50MiB = results.fanOut.rssMiB;
    }
    if (wanted.has('mutations')) {
      await fresh();
      results.mutations = await mutations(ctx);
    }
    if (wanted.has('sweep')) {
      await fresh();
      const base = await rssSample(zc, 3);
      results.sweep = await sweep(ctx, sweepCounts, base.median);
    }
    if (wanted.has('memory')) {
      await fresh();
      const base = await rssSample(zc);
      const rows = sizes.at(-1)!;
      // "After a 100k sync": the first churn client's sync, on a fresh process (in the
      // initial-sync scenario, earlier runs' groups are still held for groupIdleMs).
      results.memory.after100kMiB = await churn(ctx, rows, 7);
      await sleep(5000);
      results.memory.afterChurn5sMiB = await rssSample(zc);
      // Idle groups are released 30 s after their last client left.
      await sleep(35_000);
      results.memory.afterChurnMiB = await rssSample(zc);
      results.memory.churnBaseMiB = base;
      results.memory.churnRows = rows;
      console.log(
        `zero-cache RSS after one sync of ${rows.toLocaleString('en')} rows (fresh process): ${show(results.memory.after100kMiB, 'MiB')}`,
      );
      console.log(
        `zero-cache RSS after 7 clients of ${rows.toLocaleString('en')} rows came and went (fresh process, idle ${show(base, 'MiB')}): ${show(results.memory.afterChurn5sMiB, 'MiB')} 5 s later, ${show(results.memory.afterChurnMiB, 'MiB')} 40 s later (groups released after 30 s idle)`,
      );
    }

    if (wanted.has('coldstart')) {
      const cold: number[] = [];
      for (let r = 0; r < runs; r++) {
        await zc.stop();
        zc = await start();
        cold.push(zc.startMs);
      }
      results.coldStart = {ms: figure(cold)};
      console.log(
        `cold start with an existing replica (spawn -> GET / 200): ${show(results.coldStart.ms, 'ms')}`,
      );
      // More copy runs: a fresh app id copies everything again into a new replica.
      for (let r = 1; r < runs; r++) {
        const id = `bench_copy_${r}`;
        const z = await startZeroCache({
          upstreamUrl: pgServer.url,
          replicaFile: join(pgServer.dir, `copy-${r}.db`),
          appId: id,
        });
        const c = copyRate(z);
        copyRuns.push((c.rows * 1000) / c.ms);
        e2eRuns.push((c.rows * 1000) / z.startMs);
        await z.stop();
        await db.query(`SELECT pg_drop_replication_slot($1)`, [`zync_${id}_slot`]);
      }
    }
    results.copy = {
      rows: c0.rows,
      copyRowsPerSec: figure(copyRuns),
      endToEndRowsPerSec: figure(e2eRuns),
    };
    console.log(
      `initial copy of ${c0.rows.toLocaleString('en')} rows: ${show(results.copy.copyRowsPerSec, 'rows/s')} (COPY into SQLite), ${show(results.copy.endToEndRowsPerSec, 'rows/s')} from spawn to ready`,
    );
    await zc.stop();

    const merged = merge(join(root, 'bench/results/e2e.json'), results);
    console.log(`\n${summary(results)}`);
    if (!env['BENCH_NO_WRITE']) {
      writeReport(join(root, 'bench/results'), join(root, 'docs/performance'), merged);
      console.log('\nwrote bench/results/e2e.json, bench/results/e2e.md, docs/performance/*.svg');
    }
  } finally {
    await db.end().catch(() => {});
    await stopAll();
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
  // Client sockets or pools left by a failed scenario must not keep the runner alive.
  process.exit();
}
