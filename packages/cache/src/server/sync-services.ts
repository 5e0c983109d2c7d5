// What a sync server needs besides its socket: the CVR store, group pins, the pusher, the
// query preparers and limits, built from a parsed config and the app's hooks. Shared by the
// single-process zero-cache (run-zero-cache.ts) and each sync worker (processes/).
import pg from 'pg';
import type {Logger} from '@zync/shared';
import {createAuthenticator} from '../auth/authenticator.ts';
import {PgGroupPins} from '../auth/group-pins.ts';
import {originCheck} from '../auth/origins.ts';
import type {ZeroConfig} from '../config/parse-config.ts';
import {CVRStore} from '../cvr/cvr-store.ts';
import {legacyAPI, refuseRawQueries} from '../permissions/legacy-api.ts';
import {pusherConfig, ZeroPusher} from '../push/zero-pusher.ts';
import {composePreparers} from '../queries/compose-preparers.ts';
import {SyncedQueryPreparer, syncedQueryConfig} from '../queries/synced-query-preparer.ts';
import {snapshotterFactory} from '../sqlite-engine/snapshotter.ts';
import {engineQueryDriverFactory} from '../view-syncer/engine-query-driver.ts';
import {passThroughQueryPreparer} from '../view-syncer/group-client.ts';
import {budgetPreparer, type QueryBudget} from '../view-syncer/query-budget.ts';
import type {ReplicaNotifier} from '../view-syncer/query-driver.ts';
import {DEFAULT_SYNC_LIMITS} from './limits.ts';
import type {ZeroCacheHooks} from './run-zero-cache.ts';
import type {SyncServerOptions} from './sync-server.ts';
import {noMetrics, type Metrics} from '../metrics/metrics.ts';

export type SyncServices = {
  readonly options: SyncServerOptions;
  readonly cvrStore: CVRStore;
  readonly groupPins: PgGroupPins;
  /** Closes the snapshot pool and the database pools (after the sync server stopped). */
  close(): Promise<void>;
};

/** Postgres pool for CVRs and group pins. */
export function cvrPoolFor(config: ZeroConfig, lc: Logger): pg.Pool {
  const pool = new pg.Pool({connectionString: config.cvrDb, max: 4});
  pool.on('error', e => lc.warn('CVR database connection error', {error: e.name}));
  return pool;
}

export function syncServices(
  config: ZeroConfig,
  lc: Logger,
  hooks: ZeroCacheHooks,
  replicaFile: string,
  replica: ReplicaNotifier,
  metrics: Metrics = noMetrics,
): SyncServices {
  const cvrPool = cvrPoolFor(config, lc);
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
      metrics,
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
          metrics,
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
  // ZERO_TASK_ID: the owner recorded on the groups this node serves (docs/cvr.md).
  const cvrStore = new CVRStore(cvrPool, config.appId, lc, {nodeID: config.taskId});
  const groupPins = new PgGroupPins(cvrPool, config.appId, lc);
  const options: SyncServerOptions = {
    host: config.host,
    port: config.port,
    logger: lc,
    cvrStore,
    createDriver: engineQueryDriverFactory((_group, batcher) => snapshots.open(batcher), {
      maxHydrationRows: config.queryMaxHydrationRows,
    }),
    replica,
    authenticate: hooks.authenticate ?? createAuthenticator(config, lc),
    groupPins,
    checkOrigin: originCheck(config),
    pusher,
    prepareQuery,
    cells: hooks.cells,
    limits: {
      revalidateQueriesMs: config.getQueriesRevalidateSeconds * 1000,
      slowHydrateMs: config.logSlowHydrateThresholdMs,
      ...budget,
      ...hooks.limits,
    },
    metrics,
  };
  return {
    options,
    cvrStore,
    groupPins,
    close: async () => {
      snapshots.close();
      await cvrPool.end();
      await upstreamPool.end();
    },
  };
}
