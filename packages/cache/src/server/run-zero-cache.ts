// Composes zero-cache's services from a parsed config. For now: the replicator.
import {resolve} from 'node:path';
import type {Logger} from '@zync/shared';
import type {ZeroConfig} from '../config/parse-config.ts';
import {Replicator} from '../replicator/replicator.ts';

export interface ZeroCache {
  readonly replicator: Replicator;
  /** Settles when every service has stopped (rejects if one fails). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export function runZeroCache(config: ZeroConfig, lc: Logger): ZeroCache {
  const replicator = new Replicator({
    upstreamUrl: config.upstreamDb,
    replicaFile: resolve(config.replicaFile),
    appId: config.appId,
    lc,
  });
  const done = replicator.run();
  void replicator.ready.then(
    () =>
      lc.info('replica ready', {replica: resolve(config.replicaFile), version: replicator.version}),
    () => {},
  );
  return {replicator, done, stop: () => replicator.stop()};
}
