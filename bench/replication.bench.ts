// Replication benchmark: initial copy rate, steady-state apply rate and latency, idle RSS.
// Run with `npm run bench -- replication`. Starts its own embedded Postgres.
import {spawn} from 'node:child_process';
import {readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import pg from 'pg';
import {createLogger, silentLogger} from '@zync/shared';
import type {LogContext} from '@zync/shared';
import {startPostgres, stopAll} from './e2e/harness.ts';
import {sourceBinArgs} from '../scripts/source-bin.ts';
import {freePort} from '../test/free-port.ts';
import {parseLsn, lsnToVersion} from '../packages/cache/src/replica/version.ts';
import {Replicator} from '../packages/cache/src/replicator/replicator.ts';

const ROWS = 1_000_000;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main() {
  const {url, dir: parent} = await startPostgres();
  const c = new pg.Client({connectionString: url});
  await c.connect();
  try {
    await c.query(`CREATE TABLE big (id int PRIMARY KEY, name text, score float8)`);
    await c.query(
      `INSERT INTO big SELECT i, 'name-' || i, i * 0.25 FROM generate_series(1, ${ROWS}) i`,
    );
    await c.query(`CREATE TABLE tx (id int PRIMARY KEY, v int)`);
    await c.query(`VACUUM ANALYZE`);
    const {rows: size} = await c.query<{b: string}>(`SELECT pg_table_size('big')::text AS b`);

    // 1. initial copy
    const file = join(parent, 'replica.db');
    let copied: LogContext = {};
    const lc = createLogger('info', (_l, msg, ctx) => {
      if (msg === 'copied table' && ctx['table'] === 'big') copied = ctx;
    });
    const r = new Replicator({upstreamUrl: url, replicaFile: file, appId: 'bench', lc});
    const t0 = performance.now();
    void r.run();
    await r.ready;
    const copyMs = performance.now() - t0;
    console.log(
      `initial copy: ${ROWS} rows in ${(copyMs / 1000).toFixed(2)} s = ${Math.round(
        (ROWS * 1000) / copyMs,
      ).toLocaleString('en')} rows/s, ${(((Number(size[0]!.b) / 1e6) * 1000) / copyMs).toFixed(
        1,
      )} MB/s of upstream heap, end to end (slot creation, copy child process start-up, copy); replica ${(
        statSync(file).size / 1e6
      ).toFixed(0)} MB`,
    );
    const copyOnlyMs = Number(copied['ms']);
    console.log(
      `  of which the table's COPY into SQLite: ${(copyOnlyMs / 1000).toFixed(2)} s = ${Math.round(
        (ROWS * 1000) / copyOnlyMs,
      ).toLocaleString(
        'en',
      )} rows/s, ${(((Number(size[0]!.b) / 1e6) * 1000) / copyOnlyMs).toFixed(1)} MB/s`,
    );

    // 2. throughput: single-row transactions from 8 connections
    const writers = await Promise.all(
      Array.from({length: 8}, async () => {
        const w = new pg.Client({connectionString: url});
        await w.connect();
        return w;
      }),
    );
    const N = 40_000;
    const writeAll = async (base: number) => {
      await Promise.all(
        writers.map(async (w, k) => {
          for (let i = k; i < N; i += writers.length) {
            await w.query(`INSERT INTO tx VALUES (${base + i}, ${i})`);
          }
        }),
      );
    };
    const currentVersion = async () => {
      const {rows} = await c.query<{l: string}>(`SELECT pg_current_wal_lsn()::text AS l`);
      return lsnToVersion(parseLsn(rows[0]!.l) - 1n);
    };
    // 2a. live: the replica follows while upstream writes as fast as it can
    for (const w of writers) await w.query('SET synchronous_commit = off');
    let seen = 0;
    const unsub = r.subscribe(() => seen++);
    const t1 = performance.now();
    await writeAll(0);
    const writeMs = performance.now() - t1;
    while (seen < N) await sleep(2);
    const liveMs = performance.now() - t1;
    unsub();
    console.log(
      `live: ${N} single-row transactions from ${writers.length} connections; upstream committed ${Math.round(
        (N * 1000) / writeMs,
      )} tx/s; the replica had applied all ${(liveMs - writeMs).toFixed(0)} ms after the last commit (${Math.round(
        (N * 1000) / liveMs,
      )} tx/s end to end)`,
    );
    // 2b. backlog: pure apply rate, catching up on transactions written while stopped
    await r.stop();
    await writeAll(N);
    const target = await currentVersion();
    const r2 = new Replicator({
      upstreamUrl: url,
      replicaFile: file,
      appId: 'bench',
      lc: silentLogger,
    });
    const t2 = performance.now();
    void r2.run();
    await r2.ready;
    while (r2.version < target) await sleep(2);
    const catchMs = performance.now() - t2;
    console.log(
      `backlog: ${N} single-row transactions applied in ${(catchMs / 1000).toFixed(2)} s = ${Math.round(
        (N * 1000) / catchMs,
      ).toLocaleString('en')} tx/s (one SQLite transaction each, incl. reconnect)`,
    );

    // 3. latency: one transaction at a time, commit -> replica-advanced notice
    const w = writers[0]!;
    await w.query('SET synchronous_commit = on');
    const lat: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < 2000; i++) {
      let resolve!: () => void;
      const advanced = new Promise<void>(res => (resolve = res));
      const off = r2.subscribe(() => resolve());
      const start = performance.now();
      const q = w.query(`UPDATE tx SET v = v + 1 WHERE id = ${i}`);
      await q;
      const committed = performance.now();
      await advanced;
      off();
      lat.push(performance.now() - committed);
      total.push(performance.now() - start);
    }
    lat.sort((a, b) => a - b);
    total.sort((a, b) => a - b);
    console.log(
      `latency (upstream commit acknowledged -> replica advanced, 2000 sequential tx): p50 ${pct(
        lat,
        50,
      ).toFixed(
        2,
      )} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${lat[lat.length - 1]!.toFixed(2)} ms`,
    );
    console.log(
      `latency (client sends UPDATE -> replica advanced, same tx): p50 ${pct(total, 50).toFixed(
        2,
      )} ms, p99 ${pct(total, 99).toFixed(2)} ms`,
    );
    for (const x of writers) await x.end();
    await r2.stop();

    // 4. idle RSS of zero-cache (child process via the bin) with the 1M-row replica
    const child = spawn(process.execPath, sourceBinArgs('zero-cache'), {
      env: {
        PATH: process.env['PATH'] ?? '',
        ZERO_UPSTREAM_DB: url,
        ZERO_REPLICA_FILE: join(parent, 'replica2.db'),
        ZERO_APP_ID: 'bench_rss',
        ZERO_PORT: String(await freePort()),
        ZERO_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    while (!log.includes('streaming changes')) await sleep(100);
    await sleep(5000);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
    console.log(
      `zero-cache idle RSS after replicating ${ROWS} rows: ${rss.toFixed(0)} MiB (peak during copy ${hwm.toFixed(0)} MiB)`,
    );
    child.kill('SIGTERM');
    await new Promise(res => child.once('exit', res));
  } finally {
    await c.end();
    await stopAll();
  }
}

await main();
