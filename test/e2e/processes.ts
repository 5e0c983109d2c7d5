// Starts zero-cache as a dispatcher (in the test process) with a replicator and sync worker
// processes forked from the sources, against a test database.
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseConfig, runZeroCacheProcesses, type ZeroCacheProcesses} from '@zync/cache';
import {createLogger, formatLogLine} from '@zync/shared';
import {compiledEntries} from '../../scripts/source-bin.ts';

let counter = 0;

export type StartedProcesses = ZeroCacheProcesses & {
  readonly port: number;
  readonly url: string;
  readonly appId: string;
  readonly logLines: string[];
  /** The pid of the named child now (e.g. `sync-worker-0`, `replicator`). */
  pidOf(name: string): number;
};

export async function startProcesses(
  upstreamUrl: string,
  opts: {workers: number; env?: Record<string, string>; drainMs?: number},
): Promise<StartedProcesses> {
  const dir = mkdtempSync(join(tmpdir(), 'zync-procs-'));
  const appId = `procs_${process.pid}_${counter++}`;
  const config = parseConfig({
    ZERO_UPSTREAM_DB: upstreamUrl,
    ZERO_REPLICA_FILE: join(dir, 'replica.db'),
    ZERO_APP_ID: appId,
    ZERO_HOST: '127.0.0.1',
    ZERO_PORT: '1',
    ...opts.env,
  });
  const logLines: string[] = [];
  const lc = createLogger('info', (level, msg, ctx) =>
    logLines.push(formatLogLine(level, msg, ctx)),
  );
  const zc = runZeroCacheProcesses({...config, port: 0}, lc, {
    workers: opts.workers,
    env: process.env,
    drainMs: opts.drainMs,
    entries: compiledEntries(),
  });
  zc.done.catch(() => {});
  const port = await zc.ready;
  return {
    ready: zc.ready,
    done: zc.done,
    stop: () => zc.stop(),
    processes: () => zc.processes(),
    stats: () => zc.stats(),
    port,
    url: `http://127.0.0.1:${port}`,
    appId,
    logLines,
    pidOf(name: string) {
      const p = zc.processes().find(x => x.name === name)?.pid;
      if (p === undefined) throw new Error(`no live process ${name}`);
      return p;
    },
  };
}
