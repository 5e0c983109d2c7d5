// zero-cache on several nodes (docs/scale-out.md): one replication-manager and three
// view-syncers, each its own process, behind HAProxy, with clients in separate processes.
// (i) an upstream commit until every client of all three nodes shows it; (ii) a node joining
// with a 1M-row replica until it serves; (iii) failover after SIGKILL until every moved
// client is complete again; (iv) the same clients held by one node and by three. Writes
// bench/results/scale-out.json.
//
//   npm run bench -- scale-out
//
// Environment (all optional):
//   BENCH_RUNS=3                  runs of every figure (median, min, max)
//   BENCH_ROWS=1000000            rows of the large table every replica holds
//   BENCH_CLIENTS=100,300,600     client counts of (i) and (iv)
//   BENCH_FAILOVER_CLIENTS=300
//   BENCH_CLIENT_PROCS=3          processes the clients run in
//   BENCH_WRITES=10               writes per latency point
//   BENCH_SCENARIOS=latency,join,failover
//   BENCH_NO_WRITE=1              print only
import {mkdirSync, writeFileSync} from 'node:fs';
import {loadavg} from 'node:os';
import {join as joinPath} from 'node:path';
import pg from 'pg';
import {startCluster, type Cluster} from '../test/cluster.ts';
import {onStop, sleep, startPostgres, stopAll} from './e2e/harness.ts';
import {ints, machineLine} from './e2e/options.ts';
import {figure, fmt, show, type Figure} from './e2e/stats.ts';
import {
  failover,
  joinNode,
  latency,
  nodeCpuMs,
  type Failover,
  type Join,
  type Latency,
} from './scale-out/scenarios.ts';

const env = process.env;
const runs = ints(env['BENCH_RUNS'], '3')[0]!;
const rows = ints(env['BENCH_ROWS'], '1000000')[0]!;
const counts = ints(env['BENCH_CLIENTS'], '100,300,600');
const failoverClients = ints(env['BENCH_FAILOVER_CLIENTS'], '300')[0]!;
const procs = ints(env['BENCH_CLIENT_PROCS'], '3')[0]!;
const writes = ints(env['BENCH_WRITES'], '10')[0]!;
const wanted = new Set((env['BENCH_SCENARIOS'] ?? 'latency,join,failover').split(','));
const root = joinPath(import.meta.dirname, '..');

const results: {
  machine: string;
  loadBefore: number[];
  loadAfter?: number[];
  rows: number;
  clusterStartMs?: number;
  idleCpuPct?: Record<string, number>;
  threeNodes: Point[];
  oneNode: Point[];
  joins: Join[];
  join?: Record<string, Figure>;
  failovers: Failover[];
  failover?: Record<string, Figure>;
} = {
  machine: machineLine(),
  loadBefore: loadavg(),
  rows,
  threeNodes: [],
  oneNode: [],
  joins: [],
  failovers: [],
};
console.log(`${results.machine}; load ${loadavg().join(' ')}`);

/** One client count on one topology: every run, and the figures over the runs. */
type Point = {clients: number; runs: Latency[]} & Record<
  'connectMs' | 'p50' | 'p99' | 'allMs' | 'cpuUsPerClientWrite',
  Figure
>;

const pick = <T>(xs: T[], keys: (keyof T)[]) =>
  Object.fromEntries(keys.map(k => [k, figure(xs.map(x => Number(x[k])))]));

async function point(what: string, run: () => Promise<Latency>, clients: number) {
  const ls: Latency[] = [];
  for (let r = 0; r < runs; r++) {
    const l = await run();
    showLatency(`${what} run ${r + 1}`, l);
    ls.push(l);
  }
  const p = {
    clients,
    runs: ls,
    ...pick(ls, ['connectMs', 'p50', 'p99', 'allMs', 'cpuUsPerClientWrite']),
  } as Point;
  console.log(
    `${what}, ${clients} clients: p50 ${show(p.p50, 'ms')}, p99 ${show(p.p99, 'ms')}, last client ${show(p.allMs, 'ms')}, CPU ${show(p.cpuUsPerClientWrite, 'µs/client/write')}`,
  );
  return p;
}

const showLatency = (what: string, l: Latency) =>
  console.log(
    `${what}, ${l.clients} clients on ${l.nodes} node(s) ${JSON.stringify(l.spread)}: connect ${fmt(l.connectMs)} ms; commit to client p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms, to the last client ${fmt(l.allMs)} ms (median of ${writes} writes); server CPU ${fmt(l.cpuUsPerClientWrite)} µs/client/write (ms by node: ${JSON.stringify(l.cpuMsByNode)})`,
  );

let cluster: Cluster | undefined;
try {
  const postgres = await startPostgres();
  const db = new pg.Client({connectionString: postgres.url});
  db.on('error', () => {});
  await db.connect();
  onStop(() => db.end());
  await db.query(`CREATE TABLE fan (id int PRIMARY KEY, owner int NOT NULL, title text NOT NULL,
      score float8 NOT NULL);
    INSERT INTO fan SELECT g, g % 50, 'row title ' || g, g * 0.5 FROM generate_series(1, 5000) g;
    CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL);
    INSERT INTO hot VALUES (1, 0), (2, 0), (3, 0);
    CREATE TABLE item (id text PRIMARY KEY, title text NOT NULL, votes int NOT NULL);
    CREATE TABLE big (id int PRIMARY KEY, owner int NOT NULL, title text NOT NULL,
      score float8 NOT NULL);
    INSERT INTO big SELECT g, g % 1000, 'big row title ' || g, g * 0.25
      FROM generate_series(1, ${rows}) g;`);
  const t0 = performance.now();
  cluster = await startCluster({
    upstreamUrl: postgres.url,
    viewSyncers: 3,
    env: {ZERO_LOG_LEVEL: 'info'},
  });
  const c = cluster;
  onStop(() => c.stop());
  results.clusterStartMs = performance.now() - t0;
  console.log(
    `cluster (manager: initial copy of ${rows} rows; 3 view-syncers: a snapshot each; haproxy) up in ${fmt(results.clusterStartMs)} ms`,
  );

  // (i) and (iv): three nodes through HAProxy, then one node taking every client directly.
  // Idle: what each node costs with nothing connected and no writes (heartbeats, polls).
  const i0 = nodeCpuMs(c);
  const w0 = performance.now();
  await sleep(5000); // an idle interval to measure, not a wait for a condition
  const i1 = nodeCpuMs(c);
  const idleMs = performance.now() - w0;
  results.idleCpuPct = Object.fromEntries(
    Object.entries(i1).map(([k, ms]) => [k, ((ms - (i0[k] ?? ms)) * 100) / idleMs]),
  );
  console.log(
    `idle CPU, % of a core: ${Object.entries(results.idleCpuPct)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ')}`,
  );
  const one = `http://127.0.0.1:${c.viewSyncers[0]!.port}`;
  for (const n of wanted.has('latency') ? counts : []) {
    const opts = {procs, writes};
    results.threeNodes.push(
      await point('3 nodes (HAProxy)', () => latency(c, db, c.url, n, opts), n),
    );
    results.oneNode.push(await point('1 node (direct)', () => latency(c, db, one, n, opts), n));
  }

  // (ii) a node joins with the large replica.
  for (let r = 0; r < (wanted.has('join') ? runs : 0); r++) {
    const j = await joinNode(c);
    results.joins.push(j);
    console.log(
      `join ${r + 1}: serving after ${fmt(j.serveMs)} ms; snapshot ${fmt(j.bytes / 2 ** 20)} MiB: manager copy ${j.copyMs} ms, served in ${j.servedMs} ms; received in ${j.receivedMs} ms, verified in ${j.verifyMs} ms`,
    );
  }
  if (results.joins.length > 0) {
    results.join = pick(results.joins, [
      'serveMs',
      'bytes',
      'copyMs',
      'servedMs',
      'receivedMs',
      'verifyMs',
    ]);
    console.log(`join: serving after ${show(results.join['serveMs']!, 'ms')}`);
  }

  // (iii) failover.
  for (let r = 0; r < (wanted.has('failover') ? runs : 0); r++) {
    const f = await failover(c, db, failoverClients, procs);
    results.failovers.push(f);
    console.log(
      `failover ${r + 1}: ${f.moved} of ${f.clients} clients moved; all moved complete again after ${fmt(f.movedCompleteMs)} ms (moved p50 ${fmt(f.movedP50Ms)}, p90 ${fmt(f.movedP90Ms)}; every client: ${fmt(f.allMs)} ms); HAProxy DOWN after ${fmt(f.downMs)} ms; the last client's connection: ${f.slowest.join(' | ')}`,
    );
  }
  if (results.failovers.length > 0) {
    results.failover = pick(results.failovers, [
      'moved',
      'movedCompleteMs',
      'movedP50Ms',
      'movedP90Ms',
      'allMs',
      'downMs',
    ]);
    console.log(
      `failover: moved clients complete again after ${show(results.failover['movedCompleteMs']!, 'ms')}`,
    );
  }
} finally {
  await stopAll();
}
results.loadAfter = loadavg();
console.log(`load average after: ${results.loadAfter.join(' ')}`);

if (env['BENCH_NO_WRITE'] !== '1') {
  const out = joinPath(root, 'bench/results');
  mkdirSync(out, {recursive: true});
  writeFileSync(joinPath(out, 'scale-out.json'), `${JSON.stringify(results, null, 2)}\n`);
}
