// Starts a SyncServer over a MemoryReplica and a test Postgres for `*.pg.test.ts` files.
import pg from 'pg';
import {silentLogger, type Logger} from '@zync/shared';
import {CVRStore} from '../../src/cvr/cvr-store.ts';
import type {SyncLimits} from '../../src/server/limits.ts';
import type {QueryDriver} from '../../src/view-syncer/query-driver.ts';
import {SyncServer, type SyncServerOptions} from '../../src/server/sync-server.ts';
import type {MemoryReplica} from './memory-replica.ts';
import {RecomputeDriver} from './recompute-driver.ts';

export type TestServer = {
  readonly server: SyncServer;
  readonly port: number;
  readonly pool: pg.Pool;
  readonly store: CVRStore;
  readonly drivers: Map<string, QueryDriver>;
  readonly running: Promise<void>;
  stop(): Promise<void>;
};

export async function startTestServer(options: {
  readonly dbUrl: string;
  readonly replica: MemoryReplica;
  readonly appID?: string;
  /** The CVR owner id of this server (a node); default: the process's. */
  readonly nodeID?: string;
  readonly limits?: Partial<SyncLimits>;
  readonly logger?: Logger;
  readonly createDriver?: (groupID: string) => QueryDriver;
  readonly extra?: Partial<SyncServerOptions>;
}): Promise<TestServer> {
  const pool = new pg.Pool({connectionString: options.dbUrl, max: 5});
  const logger = options.logger ?? silentLogger;
  const drivers = new Map<string, QueryDriver>();
  const store = new CVRStore(pool, options.appID ?? 'test', logger, {nodeID: options.nodeID});
  const server = new SyncServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    cvrStore: store,
    replica: options.replica,
    createDriver: id => {
      const d = options.createDriver?.(id) ?? new RecomputeDriver(options.replica);
      drivers.set(id, d);
      return d;
    },
    limits: {connectTimeoutMs: 2000, ...options.limits},
    ...options.extra,
  });
  const running = server.run();
  running.catch(() => {});
  const port = await server.ready;
  return {
    server,
    port,
    pool,
    store,
    drivers,
    running,
    stop: async () => {
      await server.stop();
      await pool.end();
    },
  };
}
