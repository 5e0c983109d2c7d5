// The scale-out benchmark's scenarios on a running cluster (test/cluster.ts): clients in
// separate processes, a write's latency to clients of every node, a node joining with a large
// replica, and failover after SIGKILL.
import type pg from 'pg';
import type {Cluster, ClusterNode} from '../../test/cluster.ts';
import {cpuMs, sleep} from '../e2e/harness.ts';
import {openClients, writeAndWatch} from '../e2e/remote-clients.ts';
import {percentile} from '../e2e/stats.ts';

export type Latency = {
  clients: number;
  nodes: number;
  connectMs: number;
  /** Over every client and write: ms from commit until the client showed it. */
  p50: number;
  p99: number;
  /** Per write, until the last client showed it, the median over writes. */
  allMs: number;
  /** Server CPU (every node and the manager) per write, per client, µs. */
  cpuUsPerClientWrite: number;
  /** Clients per node (view-syncer name → count). */
  spread: Record<string, number>;
  /** CPU ms of each node (manager, vs0, …) during the writes. */
  cpuMsByNode: Record<string, number>;
};

/** Where the clients' groups are held: view-syncer name → count. */
export async function spread(cluster: Cluster, groups: readonly string[]) {
  const by: Record<string, number> = {};
  const nodeOfGroup = new Map<string, ClusterNode | undefined>();
  for (const g of groups) {
    if (!nodeOfGroup.has(g)) nodeOfGroup.set(g, await cluster.nodeOf(g));
    const name = nodeOfGroup.get(g)?.name ?? 'none';
    by[name] = (by[name] ?? 0) + 1;
  }
  return {by, nodeOfGroup};
}

/** CPU ms so far of each running node's process, by name. */
export function nodeCpuMs(cluster: Cluster): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of [cluster.manager, ...cluster.viewSyncers]) {
    const pid = n.running() ? n.run?.child.pid : undefined;
    if (pid !== undefined) out[n.name] = cpuMs(pid);
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** `count` clients on `server`, `writes` writes of the hot row, each watched by every client. */
export async function latency(
  cluster: Cluster,
  db: pg.Client,
  server: string,
  count: number,
  o: {procs: number; writes: number},
): Promise<Latency> {
  const cs = await openClients(server, count, o.procs, 's');
  await sleep(1000); // the hydrations' CVR writes settle before measuring
  const {by} = await spread(cluster, cs.groups);
  const samples: number[] = [];
  const all: number[] = [];
  const c0 = nodeCpuMs(cluster);
  for (let w = 0; w < o.writes; w++) {
    const {committed, at} = await writeAndWatch(db, cs);
    const lat = at.map(t => t - committed);
    samples.push(...lat);
    all.push(Math.max(...lat));
    await sleep(50); // writes apart, as a steady trickle rather than a burst
  }
  const c1 = nodeCpuMs(cluster);
  const cpuMsByNode = Object.fromEntries(
    Object.entries(c1).map(([k, ms]) => [k, Math.round(ms - (c0[k] ?? ms))]),
  );
  const cpu = (sum(cpuMsByNode) * 1000) / o.writes / count;
  await cs.close();
  return {
    clients: count,
    nodes: Object.keys(by).filter(k => k !== 'none').length,
    connectMs: cs.connectMs,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    allMs: percentile(all, 50),
    cpuUsPerClientWrite: cpu,
    spread: by,
    cpuMsByNode,
  };
}

export type Failover = {
  clients: number;
  moved: number;
  /** SIGKILL until every moved client showed a write committed right after the kill. */
  movedCompleteMs: number;
  /** The same for every client (the others see it over their open connection). */
  allMs: number;
  /** The median and 90th percentile of the moved clients. */
  movedP50Ms: number;
  movedP90Ms: number;
  /** SIGKILL until HAProxy's health checks mark the node DOWN. */
  downMs: number;
  /** The connection states the last client went through (ms after the watch, name, reason). */
  slowest: string[];
};

/** `count` clients through HAProxy; the view-syncer holding most is SIGKILLed; then
 *  restarted from its replica (not measured) for the next run. */
export async function failover(
  cluster: Cluster,
  db: pg.Client,
  count: number,
  procs: number,
): Promise<Failover> {
  const cs = await openClients(cluster.url, count, procs, 's');
  await sleep(1000);
  const {by, nodeOfGroup} = await spread(cluster, cs.groups);
  const victimName = Object.entries(by).sort((a, b) => b[1] - a[1])[0]![0];
  const victim = cluster.viewSyncers.find(n => n.name === victimName)!;
  let killedAt = 0;
  let downMs = 0;
  const {at, slowest} = await writeAndWatch(db, cs, async () => {
    killedAt = performance.timeOrigin + performance.now();
    await victim.kill();
    void cluster.waitForStates({[victimName]: 'DOWN'}).then(() => {
      downMs = performance.timeOrigin + performance.now() - killedAt;
    });
  });
  const moved = at
    .filter((_, i) => nodeOfGroup.get(cs.groups[i]!) === victim)
    .map(t => t - killedAt);
  const out = {
    clients: count,
    moved: moved.length,
    movedCompleteMs: Math.max(...moved),
    movedP50Ms: percentile(moved, 50),
    movedP90Ms: percentile(moved, 90),
    allMs: Math.max(...at) - killedAt,
    downMs,
    slowest,
  };
  await cs.close();
  await victim.start();
  await cluster.waitForStates({[victimName]: 'UP'});
  return out;
}

export type Join = {
  /** addViewSyncer(): spawn until GET / answers 200 and HAProxy marks it UP. */
  serveMs: number;
  bytes: number;
  /** The manager's VACUUM INTO copy, then the whole response. */
  copyMs: number;
  servedMs: number;
  /** On the new node: receiving, then checking the file (sha256, opens, version). */
  receivedMs: number;
  verifyMs: number;
};

const field = (text: string, line: RegExp, name: string): number => {
  const lines = text.split('\n').filter(l => line.test(l));
  const m = new RegExp(`${name}=(\\d+)`).exec(lines[lines.length - 1] ?? '');
  return m ? Number(m[1]) : NaN;
};

/** A new view-syncer joins (fresh replica file: a snapshot download), then is stopped. */
export async function joinNode(cluster: Cluster): Promise<Join> {
  const t0 = performance.now();
  const node = await cluster.addViewSyncer();
  const serveMs = performance.now() - t0;
  const mine = node.run?.output() ?? '';
  const manager = cluster.manager.run?.output() ?? '';
  await node.stop();
  return {
    serveMs,
    bytes: field(mine, /Downloaded a replica snapshot/, 'bytes'),
    copyMs: field(manager, /Served a replica snapshot/, 'copyMs'),
    servedMs: field(manager, /Served a replica snapshot/, 'totalMs'),
    receivedMs: field(mine, /Downloaded a replica snapshot/, 'receivedMs'),
    verifyMs: field(mine, /Downloaded a replica snapshot/, 'verifyMs'),
  };
}
