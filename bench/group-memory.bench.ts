// Memory per client group: five groups of 100k rows connect one after another (real Zero
// clients in this process, each its own group, syncing a whole 100k-row table) and stay
// connected; zero-cache runs in its own process. Reports zero-cache's RSS and live heap
// (after a full collection) when idle, after each group, and after all clients have left
// (until the groups are released, which must happen within 30 s).
// Run: npm run bench -- group-memory. BENCH_GROUPS (5), BENCH_ROWS (100000),
// BENCH_HEAP_SNAPSHOT=<dir> writes a heap snapshot with one group and with all of them.
import {spawn} from 'node:child_process';
import {join} from 'node:path';
import pg from 'pg';
import {benchSchema, newClient, sizedTable} from './e2e/clients.ts';
import type {Client} from './e2e/clients.ts';
import {onStop, rssMiB, sleep, startPostgres, stopAll} from './e2e/harness.ts';
import type {MemoryFigures} from './e2e/memory-probe.ts';
import {freePort} from '../test/free-port.ts';

const GROUPS = Number(process.env['BENCH_GROUPS'] ?? 5);
const ROWS = Number(process.env['BENCH_ROWS'] ?? 100_000);
const SNAPSHOTS = process.env['BENCH_HEAP_SNAPSHOT'];

type Probe = {
  memory(): Promise<MemoryFigures>;
  snapshot(file: string): Promise<string>;
  log(): string;
  /** RSS now, read from /proc (no collection). */
  rss(): number;
  /** Groups released so far (from the debug log). */
  released(): number;
};

async function startProbe(
  upstreamUrl: string,
  replicaFile: string,
): Promise<{url: string; probe: Probe}> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--conditions=zync-source', '--import', 'tsx', 'bench/e2e/memory-probe.ts'],
    {
      cwd: join(import.meta.dirname, '..'),
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        ZERO_UPSTREAM_DB: upstreamUrl,
        ZERO_REPLICA_FILE: replicaFile,
        ZERO_APP_ID: 'memory',
        ZERO_PORT: String(port),
        ZERO_HOST: '127.0.0.1',
        ZERO_LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let log = '';
  let released = 0;
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    released += text.split('Released client group').length - 1;
    log = (log + text).slice(-100_000);
  });
  onStop(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise(r => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  });
  const ask = <T>(msg: string, key: string) =>
    new Promise<T>(resolve => {
      const on = (m: Record<string, T>) => {
        if (!(key in m)) return;
        child.off('message', on);
        resolve(m[key]!);
      };
      child.on('message', on);
      child.send(msg);
    });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`zero-cache exited:\n${log.slice(-3000)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      r => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(20);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    probe: {
      memory: () => ask<MemoryFigures>('memory', 'memory'),
      snapshot: file => ask<string>(`snapshot:${file}`, 'snapshot'),
      log: () => log,
      released: () => released,
      rss: () => rssMiB(child.pid!),
    },
  };
}

const f = (m: MemoryFigures) =>
  `RSS ${m.rssMiB.toFixed(0)} MiB, live heap ${m.heapUsedMiB.toFixed(1)} MiB (RSS after collection ${m.rssAfterGcMiB.toFixed(0)} MiB)`;

async function main() {
  const {url, dir} = await startPostgres();
  const db = new pg.Client({connectionString: url});
  await db.connect();
  try {
    await db.query(`CREATE TABLE ${sizedTable(ROWS)} (id int PRIMARY KEY, owner int NOT NULL,
      title text NOT NULL, score float8 NOT NULL)`);
    await db.query(`INSERT INTO ${sizedTable(ROWS)} SELECT g, g % 100, 'row title ' || g, g * 0.5
      FROM generate_series(1, ${ROWS}) g`);
    await db.query('VACUUM ANALYZE');
    const {url: server, probe} = await startProbe(url, join(dir, 'replica.db'));
    const schema = benchSchema([ROWS]);
    await sleep(1000);
    const idle = await probe.memory();
    console.log(`idle: ${f(idle)}`);
    const clients: Client[] = [];
    let prev = idle;
    for (let i = 0; i < GROUPS; i++) {
      const z = newClient(server, schema, 'mem');
      const t0 = performance.now();
      const rows = await z.run(z.query[sizedTable(ROWS)]!, {type: 'complete'});
      if (rows.length !== ROWS) throw new Error(`synced ${rows.length} rows`);
      const ms = performance.now() - t0;
      clients.push(z);
      // let the group settle: its CVR records are written to Postgres after the sync
      await sleep(2000);
      const m = await probe.memory();
      console.log(
        `${i + 1} group(s) of ${ROWS} rows (synced in ${ms.toFixed(0)} ms): ${f(m)}; this group +${(
          m.heapUsedMiB - prev.heapUsedMiB
        ).toFixed(1)} MiB heap, +${(m.rssMiB - prev.rssMiB).toFixed(0)} MiB RSS`,
      );
      prev = m;
      if (SNAPSHOTS && (i === 0 || i === GROUPS - 1)) {
        console.log(
          `  heap snapshot: ${await probe.snapshot(join(SNAPSHOTS, `groups-${i + 1}.heapsnapshot`))}`,
        );
      }
    }
    const all = prev;
    console.log(
      `per group (${GROUPS} groups over idle): heap ${((all.heapUsedMiB - idle.heapUsedMiB) / GROUPS).toFixed(1)} MiB, RSS ${((all.rssMiB - idle.rssMiB) / GROUPS).toFixed(0)} MiB`,
    );
    for (const z of clients) await z.close();
    const left = performance.now();
    const since = () => ((performance.now() - left) / 1000).toFixed(1);
    // no forced collection while waiting: the server's own reclaiming is what is measured
    while (probe.released() < GROUPS) {
      if (performance.now() - left > 45_000) throw new Error('groups not released within 45 s');
      await sleep(100);
    }
    console.log(
      `all ${GROUPS} groups released ${since()} s after the clients left: RSS ${probe.rss().toFixed(0)} MiB`,
    );
    // the server collects a few seconds after large releases (memory-reclaimer.ts)
    await sleep(15_000);
    console.log(`${since()} s after the clients left: RSS ${probe.rss().toFixed(0)} MiB`);
    console.log(`  then with a forced collection: ${f(await probe.memory())}`);
  } finally {
    await db.end();
    await stopAll();
  }
}

await main();
// the clients' sockets and timers may outlive close()
process.exit(0);
