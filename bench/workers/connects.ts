// Connect throughput with ES256 tokens, each connect hydrating a small query. The clients run
// in separate processes (connect-proc.ts); every run also records where the CPU went, per
// connect: each zero-cache process by role, Postgres (postmaster and backends), the client
// processes, the runner, and the rest of the machine (foreign load).
import {fork, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {cpus} from 'node:os';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {SYNC_PATH} from '@zync/protocol';
import type pg from 'pg';
import {cpuMs, sleep, type ZeroCacheProcess} from '../e2e/harness.ts';
import {figure, percentile, show, type Figure} from '../e2e/stats.ts';
import type {FromConnectProc, ToConnectProc} from './connect-proc.ts';
import {childPids, readTree} from './tree.ts';

export type Connects = {
  workers: number;
  perSecond: Figure;
  /** Per run, the median ms from dialling until the 101 answer (the socket handoff is in it). */
  openMs: Figure;
  /** Per run, the median ms from dialling until the first poke. */
  pokeMs: Figure;
  /** CPU ms per connect, by process (medians over runs). */
  cpuMsPerConnect: Record<string, Figure>;
  /** Postgres statements per connect (pg_stat_statements, all runs), the most frequent first. */
  statements: {calls: number; ms: number; query: string}[];
  loadAverage: Figure;
  /**
   * What an otherwise idle machine of this many cores could do with these CPU costs: the
   * fewest connects/s that any one zero-cache process (one main thread), or all of the
   * benchmark's processes together (zero-cache, Postgres, clients) on every core, allow.
   */
  capacity: {perSecond: number; boundBy: string};
};

/** The CPU-bound connects/s from per-connect CPU ms (see Connects.capacity). */
export function capacity(
  cpu: Record<string, Figure>,
  cores: number,
): {perSecond: number; boundBy: string} {
  let best = {perSecond: Infinity, boundBy: ''};
  let all = 0;
  for (const [k, f] of Object.entries(cpu)) {
    if (k === 'other (foreign load)' || k === 'wall ms × 2 cores') continue;
    all += f.median;
    if (k === 'postgres' || k === 'clients' || k === 'runner') continue;
    if (1000 / f.median < best.perSecond) best = {perSecond: 1000 / f.median, boundBy: k};
  }
  if ((cores * 1000) / all < best.perSecond) {
    best = {perSecond: (cores * 1000) / all, boundBy: `all ${cores} cores`};
  }
  return best;
}

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

class ConnectProc {
  readonly child: ChildProcess;
  #waiting: ((m: FromConnectProc) => void) | undefined;
  constructor(prof: string | undefined) {
    this.child = fork(join(import.meta.dirname, 'connect-proc.ts'), [], {
      execArgv: [
        '--conditions=zync-source',
        '--import',
        tsx,
        ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: FromConnectProc) => this.#waiting?.(m));
  }
  /** Sends `m` and resolves with the answer (a wave's timings; `ping`: once started). */
  ask(m: ToConnectProc): Promise<FromConnectProc> {
    const p = new Promise<FromConnectProc>(r => (this.#waiting = r));
    this.child.send(m);
    return p;
  }
}

/** CPU ms of a process and of its children that have exited (waited for). */
function cpuWithReaped(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100;
}

/** Postgres's CPU ms: the postmaster with its exited backends, and the live ones. */
function postgresCpuMs(postmaster: number): number {
  let ms = cpuWithReaped(postmaster);
  for (const c of childPids(postmaster)) {
    try {
      ms += cpuMs(c);
    } catch {
      // exited meanwhile
    }
  }
  return ms;
}

/** Busy CPU ms of the whole machine (all cores), from /proc/stat. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const n = f.map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = n[0]! + n[1]! + n[2]! + n[5]! + n[6]! + n[7]!;
  return (busy * 1000) / 100;
}

type CpuSample = Record<string, number>;

function sample(zc: ZeroCacheProcess, postmaster: number, procs: ConnectProc[]): CpuSample {
  const s: CpuSample = {};
  const tree = readTree(zc.pid);
  let worker = 0;
  for (const p of tree) {
    const name = p.role === 'sync-worker' ? `sync-worker-${worker++}` : p.role;
    s[name] = p.cpuMs;
  }
  s['postgres'] = postgresCpuMs(postmaster);
  s['clients'] = procs.reduce((a, p) => a + cpuMs(p.child.pid!), 0);
  const own = process.cpuUsage();
  s['runner'] = (own.user + own.system) / 1000;
  s['machine'] = machineBusyMs();
  return s;
}

export async function connects(
  zc: ZeroCacheProcess,
  db: pg.Client,
  workers: number,
  tokens: readonly string[],
  o: {
    runs: number;
    wave: number;
    base: number;
    procs: number;
    measure: boolean;
    /** A folder for CPU profiles of the client processes. */
    cpuProf?: string | undefined;
  },
): Promise<Connects> {
  const url = `ws://127.0.0.1:${zc.port}${SYNC_PATH}`;
  const dataDir = (
    await db.query<{d: string}>('SELECT current_setting($1) AS d', ['data_directory'])
  ).rows[0]!.d;
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (o.measure) await db.query('SELECT pg_stat_statements_reset()');
  const procs = Array.from({length: o.procs}, () => new ConnectProc(o.cpuProf));
  // Started and loaded before the CPU readings begin.
  await Promise.all(procs.map(p => p.ask({type: 'ping'})));
  const rates: number[] = [];
  const openMs: number[] = [];
  const pokeMs: number[] = [];
  const load: number[] = [];
  const cpu: Record<string, number[]> = {};
  const n = Math.floor(tokens.length / o.runs);
  try {
    for (let r = 0; r < o.runs; r++) {
      const base = o.base + r * n;
      const open: number[] = [];
      const poke: number[] = [];
      const errors: string[] = [];
      const c0 = sample(zc, postmaster, procs);
      const t0 = performance.now();
      for (let i = 0; i < n; i += o.wave) {
        const size = Math.min(o.wave, n - i);
        const shares = procs.map(() => [] as {i: number; token: string}[]);
        for (let k = 0; k < size; k++) {
          shares[k % procs.length]!.push({i: base + i + k, token: tokens[r * n + i + k]!});
        }
        const done = await Promise.all(
          procs.map((p, j) => p.ask({type: 'wave', url, items: shares[j]!})),
        );
        for (const d of done) {
          open.push(...d.open);
          poke.push(...d.poke);
          errors.push(...d.errors);
        }
      }
      const ms = performance.now() - t0;
      const c1 = sample(zc, postmaster, procs);
      if (errors.length > 0) throw new Error(`${errors.length} connects failed: ${errors[0]}`);
      rates.push((n * 1000) / ms);
      openMs.push(percentile(open, 50));
      pokeMs.push(percentile(poke, 50));
      load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
      let ours = 0;
      for (const k of Object.keys(c1)) {
        if (k === 'machine') continue;
        const d = (c1[k]! - (c0[k] ?? 0)) / n;
        ours += d;
        (cpu[k] ??= []).push(d);
      }
      (cpu['other (foreign load)'] ??= []).push((c1['machine']! - c0['machine']!) / n - ours);
      (cpu['wall ms × 2 cores'] ??= []).push((ms * 2) / n);
      await sleep(1500); // the CVR writes and releases of the last wave
    }
  } finally {
    // A disconnected client process exits by itself (and writes its profile, if asked).
    for (const p of procs) p.child.disconnect();
  }
  const statements = o.measure
    ? (
        await db.query<{calls: string; ms: number; query: string}>(
          `SELECT calls, total_exec_time AS ms, query FROM pg_stat_statements
           WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC LIMIT 12`,
        )
      ).rows.map(r => ({
        calls: Number(r.calls) / (n * o.runs),
        ms: r.ms / (n * o.runs),
        query: r.query.replace(/\s+/g, ' ').slice(0, 120),
      }))
    : [];
  const cpuMsPerConnect = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, figure(v)]));
  const out: Connects = {
    workers,
    perSecond: figure(rates),
    openMs: figure(openMs),
    pokeMs: figure(pokeMs),
    cpuMsPerConnect,
    statements,
    loadAverage: figure(load),
    capacity: capacity(cpuMsPerConnect, cpus().length),
  };
  console.log(
    `connects, ${workers} worker(s): ${show(out.perSecond, 'connects/s')} (ES256, small hydration each); ` +
      `median to 101 ${show(out.openMs, 'ms')}, to first poke ${show(out.pokeMs, 'ms')}; load ${show(out.loadAverage, '')}`,
  );
  console.log(
    `  CPU per connect: ${Object.entries(out.cpuMsPerConnect)
      .map(([k, f]) => `${k} ${f.median.toFixed(2)} (${f.min.toFixed(2)}–${f.max.toFixed(2)})`)
      .join(
        ', ',
      )} ms; CPU-bound capacity ${out.capacity.perSecond.toFixed(0)} connects/s (${out.capacity.boundBy})`,
  );
  for (const s of statements) {
    console.log(`  ${s.calls.toFixed(2)} × ${s.ms.toFixed(3)} ms  ${s.query}`);
  }
  return out;
}
