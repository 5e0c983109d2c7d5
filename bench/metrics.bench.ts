// What keeping metrics costs: zero-cache (the bin, a separate process) with metrics off (no
// ZERO_ADMIN_PASSWORD, no OTLP) and on (ZERO_ADMIN_PASSWORD set and /metrics scraped every
// second, 15 times more often than a usual Prometheus interval), in alternating rounds on the
// same replica. Each round measures the write latency of one client (commit → client view)
// and a 500-client sweep (connect, one write seen by all, server CPU per write), with the
// end-to-end benchmark's scenarios. Prints medians with min–max, the overhead of "on", and
// the load average; writes bench/results/metrics.{json,md}.
//
//   npm run bench -- metrics
//
// Environment (optional): BENCH_ROUNDS=3 (rounds per mode), BENCH_CLIENTS=500,
// BENCH_WRITES=40 (writes seen by all clients per round), BENCH_NO_WRITE=1 (print only).
//
// On a shared machine the end-to-end figures move by more than the few percent measured
// here, so the benchmark also times each instrumentation call in this process (metrics on
// vs the no-op) and prints what a write to 500 clients costs in those calls.
import {readFileSync, writeFileSync} from 'node:fs';
import {cpus} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {format} from 'prettier';
import {benchSchema} from './e2e/clients.ts';
import {sleep, startPostgres, startZeroCache, stopAll} from './e2e/harness.ts';
import type {Ctx} from './e2e/scenarios.ts';
import {rssSample, settle, sweep, writeLatency} from './e2e/scenarios.ts';
import {figure, fmt, show, type Figure} from './e2e/stats.ts';
import {noMetrics, type Metrics} from '../packages/cache/src/metrics/metrics.ts';
import {PromMetrics} from '../packages/cache/src/metrics/prom-metrics.ts';

const env = process.env;
const rounds = Number(env['BENCH_ROUNDS'] ?? 3);
const clients = Number(env['BENCH_CLIENTS'] ?? 500);
const writes = Number(env['BENCH_WRITES'] ?? 40);
const PASSWORD = 'bench-admin-password';
const root = join(import.meta.dirname, '..');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

type Mode = 'off' | 'on';
type Round = {
  writeP50Ms: number;
  writeP90Ms: number;
  connectMs: number;
  writeAllMs: number;
  cpuMsPerWrite: number;
  scrapes: number;
};
const FIELDS: readonly [keyof Round, string, string][] = [
  ['writeP50Ms', 'write latency p50, 1 client', 'ms'],
  ['writeP90Ms', 'write latency p90, 1 client', 'ms'],
  ['connectMs', `${clients} clients connected and synced`, 'ms'],
  ['writeAllMs', `one write seen by all ${clients} clients`, 'ms'],
  ['cpuMsPerWrite', `server CPU per write, ${clients} clients`, 'ms'],
];

async function seed(db: pg.Client): Promise<void> {
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
}

/** ns per call of the calls one client group makes per write (advance, poke, CVR write). */
function perGroupWriteNs(m: Metrics): number {
  const poke = JSON.stringify(['poke', {rows: [{op: 'put', tableName: 'hot', value: {id: 3}}]}]);
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    m.advance(0.3);
    m.poke(poke);
    m.cvrFlushBacklog(1);
    m.cvrFlush(2);
    m.cvrFlushBacklog(-1);
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

function instrumentationCost(): {onNs: Figure; offNs: Figure} {
  const on = new PromMetrics();
  const onNs: number[] = [];
  const offNs: number[] = [];
  perGroupWriteNs(on);
  perGroupWriteNs(noMetrics);
  for (let r = 0; r < 7; r++) {
    onNs.push(perGroupWriteNs(on));
    offNs.push(perGroupWriteNs(noMetrics));
  }
  return {onNs: figure(onNs), offNs: figure(offNs)};
}

async function main(): Promise<void> {
  const cost = instrumentationCost();
  console.log(
    `instrumentation per client group and write (advance, poke, CVR write): on ${show(cost.onNs, 'ns')}, off ${show(cost.offNs, 'ns')}`,
  );
  const loadStart = loadavg();
  const pgServer = await startPostgres();
  const db = new pg.Client({connectionString: pgServer.url});
  await db.connect();
  const results: Record<Mode, Round[]> = {off: [], on: []};
  try {
    await seed(db);
    const replicaFile = join(pgServer.dir, 'replica.db');
    const start = (mode: Mode) =>
      startZeroCache({
        upstreamUrl: pgServer.url,
        replicaFile,
        appId: 'bench_metrics',
        env: {ZERO_LOG_LEVEL: 'warn', ...(mode === 'on' ? {ZERO_ADMIN_PASSWORD: PASSWORD} : {})},
      });
    // The first start copies the replica; later ones reuse it.
    await (await start('off')).stop();
    // off, on, on, off, off, on, …: each mode as often first as second.
    const order: Mode[] = [];
    for (let r = 0; r < rounds; r++)
      order.push(...((r % 2 ? ['on', 'off'] : ['off', 'on']) as Mode[]));
    for (const [i, mode] of order.entries()) {
      const zc = await start(mode);
      let scrapes = 0;
      let scraping = mode === 'on';
      const scraper = (async () => {
        while (scraping) {
          const res = await fetch(`${zc.url}/metrics`, {
            headers: {authorization: `Bearer ${PASSWORD}`},
          });
          if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
          await res.text();
          scrapes++;
          await sleep(1000);
        }
      })();
      try {
        await sleep(1000);
        const ctx: Ctx = {db, zc, schema: benchSchema([]), sizes: [], runs: 1};
        console.log(`\n--- round ${i + 1}/${order.length}: metrics ${mode} (load ${loadavg()})`);
        await settle(ctx);
        const lat = await writeLatency(ctx, 200);
        const idle = await rssSample(zc, 3);
        const [point] = await sweep(ctx, [clients], idle.median, writes);
        results[mode].push({
          writeP50Ms: lat.p50.median,
          writeP90Ms: lat.p90.median,
          connectMs: point!.connectMs.median,
          writeAllMs: point!.writeAllMs.median,
          cpuMsPerWrite: point!.writeCpuMsPerWrite.median,
          scrapes,
        });
      } finally {
        scraping = false;
        await scraper;
        await zc.stop();
      }
    }
  } finally {
    await db.end().catch(() => {});
    await stopAll();
  }
  const loadEnd = loadavg();
  const rows = FIELDS.map(([key, label, unit]) => {
    const off = figure(results.off.map(r => r[key]));
    const on = figure(results.on.map(r => r[key]));
    return {label, unit, off, on, overheadPct: ((on.median - off.median) / off.median) * 100};
  });
  const scrapes = results.on.reduce((n, r) => n + r.scrapes, 0);
  console.log(`\nmetrics off vs on, ${rounds} rounds each (median, min–max):`);
  for (const r of rows) {
    console.log(
      `  ${r.label}: off ${show(r.off, r.unit)}, on ${show(r.on, r.unit)} → ${r.overheadPct >= 0 ? '+' : ''}${fmt(r.overheadPct)} %`,
    );
  }
  console.log(`  /metrics scraped ${scrapes} times in the "on" rounds`);
  console.log(`  load average: ${loadStart} at start, ${loadEnd} at the end`);
  const cpu = rows.find(r => r.label.startsWith('server CPU'))!;
  const callsMs = ((cost.onNs.median - cost.offNs.median) * clients) / 1e6;
  const callsPct = (callsMs / cpu.off.median) * 100;
  console.log(
    `  instrumentation calls of one write to ${clients} groups: ${fmt(callsMs)} ms = ${fmt(callsPct)} % of the server CPU per write (metrics off)`,
  );
  if (!env['BENCH_NO_WRITE']) {
    await writeReport(rows, scrapes, loadStart, loadEnd, {cost, callsMs, callsPct});
  }
}

async function writeReport(
  rows: {label: string; unit: string; off: Figure; on: Figure; overheadPct: number}[],
  scrapes: number,
  loadStart: string,
  loadEnd: string,
  calls: {cost: {onNs: Figure; offNs: Figure}; callsMs: number; callsPct: number},
): Promise<void> {
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? '?'} x ${cpus().length}`,
    rounds,
    clients,
    writes,
    scrapes,
    loadavgAtStart: loadStart,
    loadavgAtEnd: loadEnd,
  };
  // As the repository's formatter writes JSON (npm run format:check).
  writeFileSync(
    join(root, 'bench/results/metrics.json'),
    await format(JSON.stringify({meta, rows, calls}), {parser: 'json'}),
  );
  const md = [
    '# Metrics overhead (`npm run bench -- metrics`)',
    '',
    `${meta.date}, Node ${meta.node}, ${meta.cpu}; ${rounds} rounds per mode, alternating; load average ${loadStart} at start, ${loadEnd} at the end. "On": ZERO_ADMIN_PASSWORD set and /metrics scraped every second (${scrapes} scrapes).`,
    '',
    '| figure | metrics off | metrics on | on vs off |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      r =>
        `| ${r.label} | ${show(r.off, r.unit)} | ${show(r.on, r.unit)} | ${r.overheadPct >= 0 ? '+' : ''}${fmt(r.overheadPct)} % |`,
    ),
    '',
    `Instrumentation calls per client group and write (advance, poke, CVR write), timed in one process: on ${show(calls.cost.onNs, 'ns')}, off ${show(calls.cost.offNs, 'ns')}. For one write to ${clients} groups: ${fmt(calls.callsMs)} ms, ${fmt(calls.callsPct)} % of the server CPU per write with metrics off.`,
    '',
  ].join('\n');
  writeFileSync(join(root, 'bench/results/metrics.md'), await format(md, {parser: 'markdown'}));
  console.log('wrote bench/results/metrics.json and bench/results/metrics.md');
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
