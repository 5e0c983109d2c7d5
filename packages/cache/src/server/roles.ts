// What ZERO_ROLE changes in a zero-cache node (docs/scale-out.md), in one place for the
// single-process server (run-zero-cache.ts) and the replicator process (processes/):
// - `all`: the Replicator keeps the replica, as on one node;
// - `replication-manager`: the Replicator also writes the change log into ZERO_CHANGE_DB,
//   the log is trimmed every 10 s, and the snapshot server listens on
//   ZERO_CHANGE_STREAMER_PORT; no sync clients are served;
// - `view-syncer`: a ChangeFollower fills the replica from a snapshot and follows the log,
//   in the Replicator's place; no CVR purger.
import type {Logger} from '@zync/shared';
import {ChangeFollower} from '../change-db/change-follower.ts';
import {ChangeLogWriter} from '../change-db/change-log-writer.ts';
import {downloadSnapshot} from '../change-db/snapshot-client.ts';
import {startSnapshotServer, type SnapshotServer} from '../change-db/snapshot-server.ts';
import type {ZeroConfig} from '../config/parse-config.ts';
import type {Metrics} from '../metrics/metrics.ts';
import {redactUrl} from '../pg/redact-url.ts';
import {FeedSignals} from '../replica/replica-feed.ts';
import {Replicator} from '../replicator/replicator.ts';
import {listenError} from './listen-error.ts';

/** What keeps this node's replica in step: the Replicator or a ChangeFollower. */
export type ReplicaFeed = {
  /** Resolves once the replica can be read. */
  readonly ready: Promise<void>;
  readonly version: string;
  /** Calls `listener(version)` after each replica commit; returns an unsubscribe function. */
  subscribe(listener: (version: string) => void): () => void;
  /** Settles when the feed has stopped; rejects with what made it fail. */
  run(): Promise<void>;
  stop(): Promise<void>;
};

export type RoleParts = {
  readonly feed: ReplicaFeed;
  /** The CVR purger runs on this node (`all`, `replication-manager`). */
  readonly purgesCVRs: boolean;
  /**
   * Binds the ports of this role's own servers (the manager's snapshot server), before any
   * slow start-up work; rejects with a ListenError naming the setting to change.
   */
  listen(): Promise<void>;
  /** Once the replica is ready: starts the change log's trimming (manager). */
  started(): void;
  /** Stops what `listen` and `started` began and closes the change log (after the feed). */
  close(): Promise<void>;
};

/** Trimming of the change log runs this often on the manager. */
export const TRIM_INTERVAL_MS = 10_000;

/** The parts of this node's role; `replicaFile` is the resolved ZERO_REPLICA_FILE. */
export function roleParts(
  config: ZeroConfig,
  lc: Logger,
  replicaFile: string,
  metrics: Metrics,
): RoleParts {
  switch (config.role) {
    case 'all':
      return {
        feed: newReplicator(config, lc, replicaFile, metrics),
        purgesCVRs: true,
        listen: () => Promise.resolve(),
        started: () => {},
        close: () => Promise.resolve(),
      };
    case 'replication-manager':
      return managerParts(config, lc, replicaFile, metrics);
    case 'view-syncer':
      return viewSyncerParts(config, lc, replicaFile);
  }
}

/** The Replicator of `all` and, writing the change log into `changeLog`, of the manager. */
function newReplicator(
  config: ZeroConfig,
  lc: Logger,
  replicaFile: string,
  metrics: Metrics,
  changeLog?: ChangeLogWriter,
): Replicator {
  return new Replicator({
    upstreamUrl: config.upstreamDb,
    replicaFile,
    appId: config.appId,
    lc,
    metrics,
    changeLog,
  });
}

function managerParts(
  config: ZeroConfig,
  lc: Logger,
  replicaFile: string,
  metrics: Metrics,
): RoleParts {
  const secret = config.adminPassword;
  // parseConfig refuses the role without it; checked again so that no path serves without.
  if (secret === undefined) throw new Error('ZERO_ADMIN_PASSWORD is required for snapshots');
  const writer = new ChangeLogWriter({changeDbUrl: config.changeDb, appId: config.appId, lc});
  const replicator = newReplicator(config, lc, replicaFile, metrics, writer);
  let server: Promise<SnapshotServer> | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  // The change log's tables exist before the first transaction is written into them. An
  // unreachable change database is waited for, as the Replicator waits for upstream.
  const signals = new FeedSignals(lc, () => stopped);
  const initChangeLog = async (): Promise<boolean> => {
    const done = await signals.retrying(
      {
        what: 'Creating the change log tables',
        logFields: {changeDb: redactUrl(config.changeDb)},
        fatal: () => false,
        permanent: (_message, cause) => cause as Error,
      },
      () => writer.init().then(() => true),
    );
    return done === true;
  };
  const feed: ReplicaFeed = {
    ready: replicator.ready,
    get version() {
      return replicator.version;
    },
    subscribe: listener => replicator.subscribe(listener),
    run: () => (running ??= initChangeLog().then(ok => (ok ? replicator.run() : undefined))),
    stop: () => {
      stopped = true;
      signals.wake();
      return replicator.stop();
    },
  };
  return {
    feed,
    purgesCVRs: true,
    listen() {
      const started = (server ??= startSnapshotServer({
        replicaFile,
        secret,
        host: config.host,
        port: config.changeStreamerPort,
        lc,
      }).catch((e: unknown) => {
        throw listenError(
          e,
          {host: config.host, port: config.changeStreamerPort},
          'ZERO_CHANGE_STREAMER_PORT',
        );
      }));
      return started.then(() => {});
    },
    started() {
      writer.startTrimming({
        nodeTimeoutMs: config.changeLogNodeTimeoutSeconds * 1000,
        intervalMs: TRIM_INTERVAL_MS,
      });
    },
    async close() {
      await (await server?.catch(() => undefined))?.close();
      await writer.close();
    },
  };
}

function viewSyncerParts(config: ZeroConfig, lc: Logger, replicaFile: string): RoleParts {
  const secret = config.adminPassword;
  const uri = config.changeStreamerUri;
  if (secret === undefined || uri === undefined) {
    throw new Error('ZERO_ADMIN_PASSWORD and ZERO_CHANGE_STREAMER_URI are required');
  }
  const follower = new ChangeFollower({
    changeDbUrl: config.changeDb,
    appId: config.appId,
    replicaFile,
    nodeId: config.taskId,
    lc,
    snapshots: {
      download: (toFile, minVersion) => downloadSnapshot({uri, secret, toFile, lc, minVersion}),
    },
  });
  return {
    feed: follower,
    purgesCVRs: false,
    listen: () => Promise.resolve(),
    started: () => {},
    close: () => Promise.resolve(),
  };
}
