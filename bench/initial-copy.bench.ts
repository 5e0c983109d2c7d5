// Initial copy benchmark: 110k rows (a 100k-row and a 10k-row table) and 1M rows, each
// copied several times into a fresh replica. Reports the server's own "initial copy done"
// figure (slot creation excluded, everything after it included) and the time until the
// replicator is ready (connect, slot, copy, state row), as median and min–max.
// Run with `npm run bench -- initial-copy`. Starts its own embedded Postgres.
import {rmSync} from 'node:fs';
import {join} from 'node:path';
import pg from 'pg';
import {createLogger} from '@zync/shared';
import {startPostgres, stopAll} from './e2e/harness.ts';
import {Replicator} from '../packages/cache/src/replicator/replicator.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
/** `small`, `big` or both (default). */
const ONLY = process.env['BENCH_COPY_ONLY'];

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `median ${med.toFixed(0)} ms (min ${s[0]!.toFixed(0)} – max ${s[s.length - 1]!.toFixed(0)})`;
}

async function copyOnce(url: string, file: string, appId: string) {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, {force: true});
  let copyMs = NaN;
  const lc = createLogger('info', (_l, msg, ctx) => {
    if (msg === 'initial copy done') copyMs = Number(ctx['ms']);
  });
  const r = new Replicator({upstreamUrl: url, replicaFile: file, appId, lc});
  const t0 = performance.now();
  void r.run();
  await r.ready;
  const readyMs = performance.now() - t0;
  await r.stop();
  return {copyMs, readyMs};
}

async function scenario(url: string, dir: string, name: string, rows: number, appId: string) {
  const copy: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await copyOnce(url, join(dir, `${appId}.db`), appId);
    copy.push(r.copyMs);
    ready.push(r.readyMs);
  }
  const med = [...copy].sort((a, b) => a - b)[Math.floor(copy.length / 2)]!;
  console.log(
    `${name}: "initial copy done" ${stats(copy)} = ${Math.round((rows * 1000) / med).toLocaleString(
      'en',
    )} rows/s at the median; replicator ready ${stats(ready)}; ${RUNS} runs`,
  );
}

async function main() {
  const {url, dir} = await startPostgres();
  const c = new pg.Client({connectionString: url});
  await c.connect();
  try {
    // 110k rows in two tables, shaped like an app's (text, numbers, a timestamp, a bool)
    await c.query(`CREATE DATABASE big`);
    const small = `CREATE TABLE issue (id text PRIMARY KEY, title text, owner text, n int,
      created timestamptz, open bool, score float8)`;
    await c.query(small);
    await c.query(`INSERT INTO issue SELECT 'issue-' || i, 'Title number ' || i || ' with some words',
      'user-' || (i % 100), i, now() - i * interval '1 minute', i % 3 = 0, i * 0.5
      FROM generate_series(1, 100000) i`);
    await c.query(
      `CREATE TABLE comment (id text PRIMARY KEY, issue text, body text, created timestamptz)`,
    );
    await c.query(`INSERT INTO comment SELECT 'c-' || i, 'issue-' || (i * 10), 'A comment body ' || i,
      now() - i * interval '1 minute' FROM generate_series(1, 10000) i`);
    await c.query(`CREATE INDEX ON comment (issue)`);
    await c.query(`VACUUM ANALYZE`);
    if (ONLY !== 'big') await scenario(url, dir, '110k rows (100k + 10k)', 110_000, 'small');

    if (ONLY === 'small') return;
    // 1M rows of a 3-column table, in its own database
    const bigUrl = url.replace(/\/[^/?]*(\?|$)/, '/big$1');
    const b = new pg.Client({connectionString: bigUrl});
    await b.connect();
    await b.query(`CREATE TABLE big (id int PRIMARY KEY, name text, score float8)`);
    await b.query(
      `INSERT INTO big SELECT i, 'name-' || i, i * 0.25 FROM generate_series(1, 1000000) i`,
    );
    await b.query(`VACUUM ANALYZE`);
    await b.end();
    await scenario(bigUrl, dir, '1M rows (one table)', 1_000_000, 'big');
  } finally {
    await c.end();
    await stopAll();
  }
}

await main();
