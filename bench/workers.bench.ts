// zero-cache on several processes: idle memory per process, a client sweep with 1 sync
// worker against 2 (clients in separate processes), and connect throughput with ES256
// tokens where each connect hydrates a small query. Runs the compiled bin when it has been
// built (`npm run build`), else the sources. Writes bench/results/workers.json and
// docs/performance/workers-*.svg.
//
//   npm run bench -- workers
//
// Environment (all optional):
//   BENCH_RUNS=2                     runs per figure (median, min, max)
//   BENCH_SCENARIOS=memory,sweep,connects
//   BENCH_SWEEP=500,1000,2000        client counts
//   BENCH_WORKERS=1,2                sync worker counts compared
//   BENCH_CLIENT_PROCS=4             processes the sweep's clients run in
//   BENCH_CONNECTS=600               connects per run
//   BENCH_CONNECT_PROCS=2            processes the connect scenario's clients run in
//   BENCH_WAVE=40                    connects dialled together (the next wave waits for all)
//   BENCH_CPU_PROF=<dir>             write a CPU profile of every zero-cache process there
//   BENCH_NO_WRITE=1                 print only
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {join} from 'node:path';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import pg from 'pg';
import {startPostgres, startZeroCache, stopAll} from './e2e/harness.ts';
import {ints, machineLine} from './e2e/options.ts';
import {lineChart} from './e2e/svg.ts';
import {connects, type Connects} from './workers/connects.ts';
import {
  idleMemory,
  sweepPoint,
  type IdleMemory,
  type Start,
  type SweepPoint,
} from './workers/scenarios.ts';

const env = process.env;
const runs = ints(env['BENCH_RUNS'], '2')[0]!;
const counts = ints(env['BENCH_SWEEP'], '500,1000,2000');
const workerCounts = ints(env['BENCH_WORKERS'], '1,2');
const procs = ints(env['BENCH_CLIENT_PROCS'], '4')[0]!;
const connectsPerRun = ints(env['BENCH_CONNECTS'], '600')[0]!;
const connectProcs = ints(env['BENCH_CONNECT_PROCS'], '2')[0]!;
const wave = ints(env['BENCH_WAVE'], '40')[0]!;
const cpuProf = env['BENCH_CPU_PROF'];
const wanted = new Set((env['BENCH_SCENARIOS'] ?? 'memory,sweep,connects').split(','));
const root = join(import.meta.dirname, '..');
const compiled = join(root, 'packages/zync/dist/bin/zero-cache.js');
const script = existsSync(compiled) ? [compiled] : undefined;

const results: {
  machine: string;
  bin: string;
  loadBefore: number[];
  loadAfter?: number[];
  memory: IdleMemory[];
  sweep: SweepPoint[];
  connects: Connects[];
} = {
  machine: machineLine(),
  bin: script ? 'compiled (packages/zync/dist/bin)' : 'sources (tsx)',
  loadBefore: loadavg(),
  memory: [],
  sweep: [],
  connects: [],
};
console.log(`${results.machine}; zero-cache from ${results.bin}; load ${loadavg().join(' ')}`);

// The replicas of every zero-cache the benchmark starts; removed at the end.
const dir = mkdtempSync(join(tmpdir(), 'zync-workers-bench-'));
try {
  const postgres = await startPostgres({statements: true});
  const db = new pg.Client({connectionString: postgres.url});
  db.on('error', () => {});
  await db.connect();
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await db.query(`CREATE TABLE fan (id int PRIMARY KEY, owner int NOT NULL, title text NOT NULL,
      score float8 NOT NULL);
    INSERT INTO fan SELECT g, g % 50, 'row title ' || g, g * 0.5 FROM generate_series(1, 5000) g;
    CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL);
    INSERT INTO hot VALUES (1, 0), (2, 0), (3, 0);
    CREATE TABLE item (id text PRIMARY KEY, title text NOT NULL, votes int NOT NULL);`);
  let started = 0;
  const start: Start = (workers, extra = {}) =>
    startZeroCache({
      upstreamUrl: postgres.url,
      replicaFile: join(dir, `r${started}.db`),
      appId: `bench_w${started++}`,
      ...(script ? {script} : {}),
      ...(cpuProf ? {nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`]} : {}),
      env: {ZERO_NUM_SYNC_WORKERS: String(workers), ZERO_LOG_LEVEL: 'warn', ...extra},
    });

  if (wanted.has('memory')) {
    for (const w of [1, 2, 3]) results.memory.push(await idleMemory(start, w, runs));
  }
  if (wanted.has('sweep')) {
    for (const w of workerCounts) {
      const zc = await start(w);
      for (const n of counts) {
        results.sweep.push(await sweepPoint(zc, db, w, n, {runs, procs, writes: 5}));
      }
      await zc.stop();
    }
  }
  if (wanted.has('connects')) {
    const {publicKey, privateKey} = await generateKeyPair('ES256');
    const jwk = {...(await exportJWK(publicKey)), alg: 'ES256'};
    const sign = (i: number) =>
      new SignJWT({jti: `t${i}`})
        .setProtectedHeader({alg: 'ES256'})
        .setSubject('bench')
        .setExpirationTime('1h')
        .sign(privateKey);
    let base = 0;
    for (const w of workerCounts) {
      const zc = await start(w, {ZERO_AUTH_JWK: JSON.stringify(jwk)});
      const tokens = await Promise.all(
        Array.from({length: connectsPerRun * (runs + 1)}, (_, i) => sign(base + i)),
      );
      // One unmeasured run warms the code up.
      const o = {wave, procs: connectProcs, cpuProf};
      await connects(zc, db, w, tokens.slice(0, connectsPerRun), {
        ...o,
        runs: 1,
        base,
        measure: false,
      });
      base += connectsPerRun;
      results.connects.push(
        await connects(zc, db, w, tokens.slice(connectsPerRun), {...o, runs, base, measure: true}),
      );
      base += connectsPerRun * runs;
      await zc.stop();
    }
    const [one, two] = results.connects;
    if (one && two) {
      console.log(
        `connects: ${two.workers} workers / ${one.workers}: ${(two.perSecond.median / one.perSecond.median).toFixed(2)}x (medians); ` +
          `CPU-bound capacity ${(two.capacity.perSecond / one.capacity.perSecond).toFixed(2)}x`,
      );
    }
  }
  await db.end();
} finally {
  await stopAll();
  rmSync(dir, {recursive: true, force: true});
}
results.loadAfter = loadavg();
console.log(`load average after: ${results.loadAfter.join(' ')}`);

if (env['BENCH_NO_WRITE'] !== '1') {
  const out = join(root, 'bench/results');
  const svgDir = join(root, 'docs/performance');
  mkdirSync(out, {recursive: true});
  writeFileSync(join(out, 'workers.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (results.sweep.length > 0) {
    const series = (pick: (p: SweepPoint) => SweepPoint['rssMiB']) =>
      workerCounts.map(w => ({
        series: `${w} sync worker${w > 1 ? 's' : ''}`,
        points: results.sweep.filter(p => p.workers === w).map(p => ({x: p.clients, f: pick(p)})),
      }));
    writeFileSync(
      join(svgDir, 'workers-cpu.svg'),
      `${lineChart(
        'Server CPU per write, per client (all processes)',
        'µs',
        'clients',
        series(p => p.cpuUsPerClientWrite),
      )}\n`,
    );
    writeFileSync(
      join(svgDir, 'workers-rss.svg'),
      `${lineChart(
        'Server memory (all processes)',
        'MiB RSS',
        'clients',
        series(p => p.rssMiB),
      )}\n`,
    );
    writeFileSync(
      join(svgDir, 'workers-latency.svg'),
      `${lineChart(
        'One write visible to clients, p99',
        'ms',
        'clients',
        series(p => p.visibleP99Ms),
      )}\n`,
    );
  }
}
