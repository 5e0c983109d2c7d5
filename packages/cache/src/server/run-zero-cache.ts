// Composes zero-cache's services from a parsed config: the replicator keeps the replica in
// step with Postgres; once the replica is ready, the sync server serves clients from it.
import {resolve} from 'node:path';
import pg from 'pg';
import type {Logger} from '@zync/shared';
import {createAuthenticator} from '../auth/authenticator.ts';
import {PgGroupPins} from '../auth/group-pins.ts';
import {originCheck} from '../auth/origins.ts';
import type {ZeroConfig} from '../config/parse-config.ts';
import {composePreparers} from '../queries/compose-preparers.ts';
import {SyncedQueryPreparer, syncedQueryConfig} from '../queries/synced-query-preparer.ts';
import {pusherConfig, ZeroPusher} from '../push/zero-pusher.ts';
import type {DefinedPermissions} from '@zync/zql';
import {legacyAPI, refuseRawQueries, type LegacyAPI} from '../permissions/legacy-api.ts';
import {passThroughQueryPreparer} from '../view-syncer/group-client.ts';
import {Replicator} from '../replicator/replicator.ts';
import {CVRPurger} from '../cvr/cvr-purger.ts';
import {CVRStore} from '../cvr/cvr-store.ts';
import {engineQueryDriverFactory} from '../view-syncer/engine-query-driver.ts';
import type {Authenticator, Pusher} from './hooks.ts';
import type {CellVisibility, QueryPreparer} from '../view-syncer/group-client.ts';
import {DEFAULT_SYNC_LIMITS, type SyncLimits} from './limits.ts';
import {budgetPreparer, type QueryBudget} from '../view-syncer/query-budget.ts';
import {snapshotterFactory} from '../sqlite-engine/snapshotter.ts';
import {SyncServer} from './sync-server.ts';
import {listenError} from './listen-error.ts';

export interface ZeroCache {
  readonly replicator: Replicator;
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
};

export function runZeroCache(
  config: ZeroConfig,
  lc: Logger,
  hooks: ZeroCacheHooks = {},
): ZeroCache {
  const replicaFile = resolve(config.replicaFile);
  const replicator = new Replicator({
    upstreamUrl: config.upstreamDb,
    replicaFile,
    appId: config.appId,
    lc,
  });
  const cvrPool = new pg.Pool({connectionString: config.cvrDb, max: 4});
  cvrPool.on('error', e => lc.warn('CVR database connection error', {error: e.name}));
  const upstreamPool = new pg.Pool({connectionString: config.upstreamDb, max: 4});
  upstreamPool.on('error', e => lc.warn('Upstream connection error', {error: e.name}));
  const fromSchema = hooks.legacy ?? {queries: true, mutators: true};
  const legacy = legacyAPI(config.legacyApi, {
    enableLegacyQueries: fromSchema.queries,
    enableLegacyMutators: fromSchema.mutators,
  });
  const pusher =
    hooks.pusher ??
    new ZeroPusher({
      db: upstreamPool,
      ...pusherConfig(config),
      legacyMutators: legacy.mutators,
      permissions: hooks.permissions,
      logger: lc.with({component: 'pusher'}),
    });
  // Synced queries (name + args) are resolved by the API server first; the resolved AST then
  // goes through the app's own preparer (e.g. permissions). Tokens are only forwarded.
  const budget: QueryBudget = {
    maxQueryDepth: config.queryMaxDepth,
    maxQueryNodes: config.queryMaxNodes,
    maxInListLength: config.queryMaxInListLength,
    maxQueryStringLength: config.queryMaxStringLength,
    maxQueriesPerGroup: config.maxQueriesPerClientGroup,
  };
  const synced = syncedQueryConfig(config);
  const prepareAny = synced
    ? composePreparers(
        new SyncedQueryPreparer({
          ...synced,
          logger: lc.with({component: 'synced-queries'}),
        }).preparer(),
        // The API server's AST is built from the client's args: it gets the budget too.
        budgetPreparer({...DEFAULT_SYNC_LIMITS, ...budget, ...hooks.limits}),
        ...(hooks.prepareQuery ? [hooks.prepareQuery] : []),
      )
    : hooks.prepareQuery;
  const prepareQuery = legacy.queries
    ? prepareAny
    : refuseRawQueries(prepareAny ?? passThroughQueryPreparer);
  // Groups share pinned snapshots and the change log: a write is pinned and read once.
  const snapshots = snapshotterFactory(replicaFile);
  const cvrStore = new CVRStore(cvrPool, config.appId, lc);
  const groupPins = new PgGroupPins(cvrPool, config.appId, lc);
  const purger = new CVRPurger({
    store: cvrStore,
    pins: groupPins,
    inactiveMs: config.cvrGarbageCollectionInactivityThresholdHours * 3_600_000,
    initialIntervalMs: config.cvrGarbageCollectionInitialIntervalSeconds * 1000,
    initialBatchSize: config.cvrGarbageCollectionInitialBatchSize,
    logger: lc,
  });
  const syncServer = new SyncServer({
    host: config.host,
    port: config.port,
    logger: lc,
    cvrStore,
    createDriver: engineQueryDriverFactory((_group, batcher) => snapshots.open(batcher), {
      maxHydrationRows: config.queryMaxHydrationRows,
    }),
    replica: replicator,
    authenticate: hooks.authenticate ?? createAuthenticator(config, lc),
    groupPins,
    checkOrigin: originCheck(config),
    pusher,
    prepareQuery,
    cells: hooks.cells,
    limits: {
      revalidateQueriesMs: config.getQueriesRevalidateSeconds * 1000,
      ...budget,
      ...hooks.limits,
    },
  });
  let stopping: Promise<void> | undefined;
  let syncStarted = false;
  // The port is bound first: a taken port fails start-up at once, before the initial copy.
  const listening = syncServer.listen().catch((e: unknown) => {
    throw listenError(e, config);
  });
  const replicating = listening.then(() => (stopping ? undefined : replicator.run()));
  const serving = replicator.ready.then(() => {
    if (stopping) return undefined;
    syncStarted = true;
    return syncServer.run();
  });
  // The CVR tables exist once the sync server is ready.
  void syncServer.ready.then(
    () => purger.start(),
    () => {},
  );
  const stop = () =>
    (stopping ??= (async () => {
      await purger.stop();
      await syncServer.stop();
      snapshots.close();
      await replicator.stop();
      await cvrPool.end();
      await upstreamPool.end();
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
        replica: replicaFile,
        version: replicator.version,
        url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`,
      }),
    () => {},
  );
  return {replicator, syncServer, ready, done, stop};
}
