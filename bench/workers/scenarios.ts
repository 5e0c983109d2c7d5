// The multi-process benchmarks' scenarios: idle memory per process and the client sweep
// (clients in separate processes). Connect throughput is in connects.ts.
import type pg from 'pg';
import {sleep, type ZeroCacheProcess} from '../e2e/harness.ts';
import {openClients, writeAndWatch} from '../e2e/remote-clients.ts';
import {figure, percentile, show, type Figure} from '../e2e/stats.ts';
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
    const cs = await openClients(zc.url, clients, o.procs, 'w');
    connect.push(cs.connectMs);
    await sleep(1500); // the hydrations' CVR writes
    const c0 = treeCpuMs(zc.pid);
    const w0 = performance.now();
    await sleep(2000);
    idle.push(((treeCpuMs(zc.pid) - c0) * 100) / (performance.now() - w0));
    rss.push(treeRssMiB(zc.pid));
    const lat: number[] = [];
    const c1 = treeCpuMs(zc.pid);
    for (let w = 0; w < o.writes; w++) {
      const {committed, at} = await writeAndWatch(db, cs);
      lat.push(...at.map(t => t - committed));
      await sleep(50);
    }
    cpu.push(((treeCpuMs(zc.pid) - c1) * 1000) / o.writes / clients);
    p50.push(percentile(lat, 50));
    p99.push(percentile(lat, 99));
    await cs.close();
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
