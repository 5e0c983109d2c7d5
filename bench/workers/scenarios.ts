// The multi-process benchmarks' scenarios: idle memory per process and the client sweep
// (clients in separate processes). Connect throughput is in connects.ts.
import {fork, type ChildProcess} from 'node:child_process';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import type pg from 'pg';
import {sleep, type ZeroCacheProcess} from '../e2e/harness.ts';
import {figure, percentile, show, type Figure} from '../e2e/stats.ts';
import type {FromClients, ToClients} from './client-proc.ts';
import {readTree, treeCpuMs, treeRssMiB} from './tree.ts';

export type Start = (workers: number, env?: Record<string, string>) => Promise<ZeroCacheProcess>;

// 1. Idle memory -------------------------------------------------------------------------

export type IdleMemory = {workers: number; byRole: Record<string, Figure>; totalMiB: Figure};

export async function idleMemory(start: Start, workers: number, runs: number) {
  const byRole: Record<string, number[]> = {};
  const total: number[] = [];
  for (let r = 0; r < runs; r++) {
    const zc = await start(workers);
    await sleep(3000); // idle: start-up garbage collected, nothing connected
    const tree = readTree(zc.pid);
    for (const p of tree) (byRole[p.role] ??= []).push(p.rssMiB);
    total.push(tree.reduce((s, p) => s + p.rssMiB, 0));
    await zc.stop();
  }
  const out: IdleMemory = {
    workers,
    byRole: Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, figure(v)])),
    totalMiB: figure(total),
  };
  console.log(
    `idle, ${workers} worker(s): total ${show(out.totalMiB, 'MiB')}; ${Object.entries(out.byRole)
      .map(([k, f]) => `${k} ${show(f, 'MiB')}`)
      .join('; ')}`,
  );
  return out;
}

// 2. Sweep -------------------------------------------------------------------------------

export type SweepPoint = {
  workers: number;
  clients: number;
  connectMs: Figure;
  /** Per write, ms from commit until a client shows it: p50 and p99 over all clients. */
  visibleP50Ms: Figure;
  visibleP99Ms: Figure;
  /** Server CPU (all processes) per write, per client. */
  cpuUsPerClientWrite: Figure;
  idleCpuPct: Figure;
  rssMiB: Figure;
};

/** The value each write sets; a new one for every write of the process. */
let v = 0;

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

class ClientProc {
  readonly child: ChildProcess;
  #waiting: ((m: FromClients) => void)[] = [];
  constructor() {
    this.child = fork(join(import.meta.dirname, 'client-proc.ts'), [], {
      execArgv: ['--conditions=zync-source', '--import', tsx],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: FromClients) => this.#waiting.shift()?.(m));
  }
  ask(m: ToClients): Promise<FromClients> {
    const p = new Promise<FromClients>(r => this.#waiting.push(r));
    this.child.send(m);
    return p;
  }
  next(): Promise<FromClients> {
    return new Promise<FromClients>(r => this.#waiting.push(r));
  }
}

export async function sweepPoint(
  zc: ZeroCacheProcess,
  db: pg.Client,
  workers: number,
  clients: number,
  o: {runs: number; procs: number; writes: number},
): Promise<SweepPoint> {
  const connect: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  const cpu: number[] = [];
  const idle: number[] = [];
  const rss: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const procs = Array.from({length: o.procs}, () => new ClientProc());
    const t0 = performance.now();
    await Promise.all(
      procs.map((p, i) =>
        p.ask({
          type: 'open',
          server: zc.url,
          count: Math.floor(clients / o.procs) + (i < clients % o.procs ? 1 : 0),
        }),
      ),
    );
    connect.push(performance.now() - t0);
    await sleep(1500); // the hydrations' CVR writes
    const c0 = treeCpuMs(zc.pid);
    const w0 = performance.now();
    await sleep(2000);
    idle.push(((treeCpuMs(zc.pid) - c0) * 100) / (performance.now() - w0));
    rss.push(treeRssMiB(zc.pid));
    const lat: number[] = [];
    const c1 = treeCpuMs(zc.pid);
    for (let w = 0; w < o.writes; w++) {
      v++;
      await Promise.all(procs.map(p => p.ask({type: 'watch', v})));
      const seen = procs.map(p => p.next());
      await db.query('UPDATE hot SET v = $1 WHERE id = 1', [v]);
      const committed = performance.timeOrigin + performance.now();
      for (const m of await Promise.all(seen)) {
        if (m.type === 'seen') lat.push(...m.at.map(t => t - committed));
      }
      await sleep(50);
    }
    cpu.push(((treeCpuMs(zc.pid) - c1) * 1000) / o.writes / clients);
    p50.push(percentile(lat, 50));
    p99.push(percentile(lat, 99));
    await Promise.all(procs.map(p => p.ask({type: 'close'})));
    for (const p of procs) p.child.kill();
    await sleep(1000);
  }
  const out: SweepPoint = {
    workers,
    clients,
    connectMs: figure(connect),
    visibleP50Ms: figure(p50),
    visibleP99Ms: figure(p99),
    cpuUsPerClientWrite: figure(cpu),
    idleCpuPct: figure(idle),
    rssMiB: figure(rss),
  };
  console.log(
    `sweep ${workers} worker(s), ${clients} clients: all complete in ${show(out.connectMs, 'ms')}; write visible p50 ${show(out.visibleP50Ms, 'ms')}, p99 ${show(out.visibleP99Ms, 'ms')}; server CPU ${show(out.cpuUsPerClientWrite, 'µs/client/write')}, idle ${show(out.idleCpuPct, '% of a core')}; RSS ${show(out.rssMiB, 'MiB')}`,
  );
  return out;
}
