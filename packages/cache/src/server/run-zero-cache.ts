// Composes zero-cache's services from a parsed config: the replicator (or, on a view-syncer,
// the change follower; see roles.ts) keeps the replica in step with Postgres; once the replica
// is ready, the sync server serves clients from it (a replication-manager serves none).
import {resolve} from 'node:path';
import type {Logger} from '@zync/shared';
import type {DefinedPermissions} from '@zync/zql';
import {CVRPurger} from '../cvr/cvr-purger.ts';
import type {LegacyAPI} from '../permissions/legacy-api.ts';
import type {ZeroConfig} from '../config/parse-config.ts';
import type {Clock} from './clock.ts';
import type {CellVisibility, QueryPreparer} from '../view-syncer/group-client.ts';
import type {Authenticator, Pusher} from './hooks.ts';
import type {SyncLimits} from './limits.ts';
import {listenError} from './listen-error.ts';
import {refusedUpgrades} from './role-rules.ts';
import {roleParts, type ReplicaFeed} from './roles.ts';
import {SyncServer} from './sync-server.ts';
import {syncServices} from './sync-services.ts';
import {startOperations, type OperationsOptions} from '../admin/operations.ts';

export interface ZeroCache {
  /** The Replicator, or a view-syncer's ChangeFollower. */
  readonly replicator: ReplicaFeed;
  readonly syncServer: SyncServer;
  /**
   * The port clients connect to, once the replica is ready and the server serves; rejects
   * if zero-cache fails or stops first.
   */
  readonly ready: Promise<number>;
  /**
   * Settles when every service has stopped. The first service to fail stops the others and
   * `done` rejects with its error (a taken port: a ListenError).
   */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Collaborators that later layers (auth, pushes, synced queries) provide. */
export type ZeroCacheHooks = {
  readonly authenticate?: Authenticator | undefined;
  readonly pusher?: Pusher | undefined;
  readonly prepareQuery?: QueryPreparer | undefined;
  /** Which columns the cell select rules hide: the `SelectPermissions` of `prepareQuery`. */
  readonly cells?: CellVisibility | undefined;
  readonly limits?: Partial<SyncLimits> | undefined;
  /** The app's permissions (from ZERO_SCHEMA_PATH), for CRUD write checks. */
  readonly permissions?: DefinedPermissions | undefined;
  /** The schema file's legacy flags (legacyAPI); ZERO_LEGACY_API=false turns both off too. */
  readonly legacy?: LegacyAPI | undefined;
  readonly operations?: OperationsOptions | undefined;
  /** Time and timers of token-expiry cuts and CVR write delays (default: the system clock). */
  readonly clock?: Clock | undefined;
};

export function runZeroCache(
  config: ZeroConfig,
  lc: Logger,
  hooks: ZeroCacheHooks = {},
): ZeroCache {
  const replicaFile = resolve(config.replicaFile);
  const ops = startOperations(config, lc, hooks.operations);
  const metrics = ops.metrics;
  const role = roleParts(config, lc, replicaFile, metrics);
  const replicator = role.feed;
  const services = syncServices(config, lc, hooks, replicaFile, replicator, metrics);
  const purger = role.purgesCVRs
    ? new CVRPurger({
        store: services.cvrStore,
        pins: services.groupPins,
        inactiveMs: config.cvrGarbageCollectionInactivityThresholdHours * 3_600_000,
        initialIntervalMs: config.cvrGarbageCollectionInitialIntervalSeconds * 1000,
        initialBatchSize: config.cvrGarbageCollectionInitialBatchSize,
        logger: lc,
      })
    : undefined;
  const syncServer = new SyncServer({
    ...services.options,
    http: ops.http,
    clock: hooks.clock,
    refuseUpgrades: refusedUpgrades(config),
  });
  ops.attach(syncServer, replicator);
  let stopping: Promise<void> | undefined;
  let syncStarted = false;
  // The ports are bound first: a taken port fails start-up at once, before the initial copy.
  const listening = Promise.all([
    syncServer.listen().catch((e: unknown) => {
      throw listenError(e, config);
    }),
    role.listen(),
  ]);
  const replicating = listening.then(() => (stopping ? undefined : replicator.run()));
  const serving = replicator.ready.then(() => {
    if (stopping) return undefined;
    role.started();
    syncStarted = true;
    return syncServer.run();
  });
  // The CVR tables exist once the sync server is ready.
  void syncServer.ready.then(
    () => purger?.start(),
    () => {},
  );
  const stop = () =>
    (stopping ??= (async () => {
      await purger?.stop();
      await syncServer.stop();
      await replicator.stop();
      await role.close();
      await services.close();
      await ops.stop();
    })());
  // The first service to fail stops all the others; `done` then rejects with its error.
  let failure: {readonly error: unknown} | undefined;
  const fail = (error: unknown) => {
    failure ??= {error};
    void stop();
  };
  replicating.catch(fail);
  serving.catch(fail);
  // Settles when the replicator has stopped (or never started) and, if it ever started, the
  // sync server too, and everything is closed.
  const done = (async () => {
    await replicating.catch(() => {});
    if (syncStarted) await serving.catch(() => {});
    if (failure || stopping) await stop();
    if (failure) throw failure.error;
  })();
  const ready = new Promise<number>((resolve, reject) => {
    replicator.ready.then(() => syncServer.ready).then(resolve, reject);
    done.then(() => reject(new Error('zero-cache stopped before it was ready')), reject);
  });
  // Callers that only await `done` must not see an unhandled rejection from `ready`.
  ready.catch(() => {});
  void ready.then(
    port =>
      lc.info('zero-cache ready', {
        ...(config.role === 'all' ? {} : {role: config.role, node: config.taskId}),
        replica: replicaFile,
        version: replicator.version,
        url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`,
      }),
    () => {},
  );
  return {replicator, syncServer, ready, done, stop};
}
