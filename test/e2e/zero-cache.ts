// Starts a real zero-cache (replicator + sync server) in-process against a test database.
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {ZeroCacheHooks} from '@zync/cache';
import {parseConfig, runZeroCache} from '@zync/cache';
import type {LogLevel} from '@zync/shared';
import {createLogger, logLineFormatter} from '@zync/shared';

let counter = 0;

export type StartedZeroCache = Awaited<ReturnType<typeof startZeroCache>>;

export async function startZeroCache(
  upstreamUrl: string,
  opts: {
    env?: Record<string, string>;
    hooks?: ZeroCacheHooks;
    logLevel?: LogLevel;
    replicaFile?: string;
    appId?: string;
    port?: number;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'zync-e2e-'));
  const appId = opts.appId ?? `e2e_${process.pid}_${counter++}`;
  const replicaFile = opts.replicaFile ?? join(dir, 'replica.db');
  const config = {
    ...parseConfig({
      ZERO_UPSTREAM_DB: upstreamUrl,
      ZERO_REPLICA_FILE: replicaFile,
      ZERO_APP_ID: appId,
      ZERO_HOST: '127.0.0.1',
      ...opts.env,
    }),
    port: opts.port ?? 0,
  };
  const lines: string[] = [];
  // As main.ts writes them: ZERO_LOG_FORMAT decides the format.
  const format = logLineFormatter(config.logFormat);
  const lc = createLogger(opts.logLevel ?? 'info', (level, msg, ctx) => {
    lines.push(format(level, msg, ctx));
  });
  const zc = runZeroCache(config, lc, opts.hooks);
  zc.done.catch(() => {});
  const port = await zc.ready;
  return {
    ...zc,
    port,
    appId,
    replicaFile,
    url: `http://127.0.0.1:${port}`,
    logLines: lines,
  };
}
