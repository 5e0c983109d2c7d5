// Processes for the end-to-end benchmarks: an embedded Postgres and zero-cache as a separate
// process (the published bin, configured by env), with /proc readings of the latter. Every
// process started here is tracked and stopped by `stopAll`, also when a scenario throws.
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {localPgFlags, startEmbeddedPostgres} from '../../scripts/embedded-postgres.ts';
import {sourceBinArgs} from '../../scripts/source-bin.ts';
import {freePort} from '../../test/free-port.ts';

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

const cleanups: (() => Promise<void>)[] = [];

/** Stops everything this process started, newest first. Safe to call twice. */
/** Registers a cleanup for something started outside this module. */
export function onStop(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export async function stopAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    await fn().catch(() => {});
  }
}

export type Postgres = {url: string; dir: string};

/** `statements`: load pg_stat_statements (the bench then runs CREATE EXTENSION itself). */
export async function startPostgres(o: {statements?: boolean} = {}): Promise<Postgres> {
  // A scratch folder for the caller (replica files); the cluster itself lives where
  // startEmbeddedPostgres puts a temporary one (reachable by its user, also as root).
  const dir = mkdtempSync(join(tmpdir(), 'zync-e2e-bench-'));
  const server = await startEmbeddedPostgres({
    port: await freePort(),
    flags: localPgFlags({
      max_connections: 200,
      max_wal_senders: 20,
      max_replication_slots: 20,
      ...(o.statements ? {shared_preload_libraries: 'pg_stat_statements'} : {}),
    }),
  });
  cleanups.push(async () => {
    await server.stop();
    rmSync(dir, {recursive: true, force: true});
  });
  return {url: server.url(), dir};
}

export type ZeroCacheProcess = {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Milliseconds from spawn until `GET /` answered 200. */
  readonly startMs: number;
  readonly log: () => string;
  rssMiB(): number;
  /** user + system CPU time in ms (from /proc/<pid>/stat). */
  cpuMs(): number;
  stop(): Promise<void>;
};

export type ZeroCacheOptions = {
  upstreamUrl: string;
  replicaFile: string;
  appId: string;
  port?: number;
  mutateUrl?: string;
  /** Extra flags for the zero-cache node process, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: readonly string[];
  cwd?: string;
  /** More zero-cache settings (e.g. ZERO_AUTH_SECRET). */
  env?: Readonly<Record<string, string>>;
  /** The zero-cache script to run with node (default: the repository's sources, via tsx). */
  script?: readonly string[];
};

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, {signal: AbortSignal.timeout(1000)});
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

const CLK_TCK = 100;

export async function startZeroCache(o: ZeroCacheOptions): Promise<ZeroCacheProcess> {
  const port = o.port ?? (await freePort());
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    ZERO_UPSTREAM_DB: o.upstreamUrl,
    ZERO_REPLICA_FILE: o.replicaFile,
    ZERO_APP_ID: o.appId,
    ZERO_PORT: String(port),
    ZERO_HOST: '127.0.0.1',
    ZERO_LOG_LEVEL: 'info',
  };
  if (o.mutateUrl) env['ZERO_MUTATE_URL'] = o.mutateUrl;
  Object.assign(env, o.env);
  const t0 = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...(o.nodeArgs ?? []), ...(o.script ?? sourceBinArgs('zero-cache'))],
    {
      env,
      cwd: o.cwd ?? process.cwd(),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
    if (log.length > 2_000_000) log = log.slice(-1_000_000);
  });
  let exited = false;
  const exit = new Promise<void>(r =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const pid = child.pid!;
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(t);
  };
  cleanups.push(stop);
  for (;;) {
    if (exited) throw new Error(`zero-cache exited during start:\n${log.slice(-3000)}`);
    if (await healthy(port)) break;
    if (performance.now() - t0 > 300_000) throw new Error('zero-cache did not become ready');
    await sleep(5);
  }
  const startMs = performance.now() - t0;
  return {
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    startMs,
    log: () => log,
    rssMiB: () => rssMiB(pid),
    cpuMs: () => cpuMs(pid),
    stop,
  };
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Waits until `pred` holds, polling every `everyMs`. */
export async function until(pred: () => boolean, timeoutMs = 60_000, everyMs = 2): Promise<void> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await sleep(everyMs);
  }
}
