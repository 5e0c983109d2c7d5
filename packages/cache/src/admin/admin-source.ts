// What the admin endpoints read and do, behind one interface: in single-process zero-cache
// from this process's sync server, replicator and metrics (localAdminSource); on several
// processes the dispatcher implements it by asking the children over IPC and merging their
// answers (processes/dispatcher-admin.ts). The HTTP side (admin-http.ts) is the same.
import type {Registry} from 'prom-client';
import type {Replicator} from '../replicator/replicator.ts';
import type {PromMetrics} from '../metrics/prom-metrics.ts';
import type {SyncServer} from '../server/sync-server.ts';
import type {GroupDetail, GroupSummary} from '../view-syncer/group-inspect.ts';
import type {DropResult} from '../view-syncer/group-registry.ts';
import type {HistorySample} from './history.ts';

/** Groups listed in `statz` at most (the largest first). */
export const STATZ_MAX_GROUPS = 1000;

export type Statz = {
  readonly time: string;
  readonly uptimeSeconds: number;
  readonly replica: {
    readonly version: string;
    readonly lagBytes: number;
    readonly lastCommitLagMs: number | null;
  };
  readonly connections: number;
  readonly clientGroups: number;
  readonly clients: number;
  readonly queries: number;
  readonly memory: {
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
    readonly heapTotalBytes: number;
    readonly externalBytes: number;
  };
  readonly groups: readonly GroupSummary[];
  readonly groupsTruncated: boolean;
};

export type History = {readonly intervalMs: number; readonly samples: readonly HistorySample[]};

export interface AdminSource {
  statz(): Promise<Statz>;
  group(clientGroupID: string): Promise<GroupDetail | undefined>;
  dropGroup(clientGroupID: string): Promise<DropResult>;
  /** The Prometheus text of every process's metrics. */
  metrics(): Promise<{readonly contentType: string; readonly text: string}>;
  history(): Promise<History>;
}

export type LocalAdminSourceOptions = {
  readonly syncServer: SyncServer;
  readonly replicator: Pick<Replicator, 'version'>;
  readonly metrics: PromMetrics;
  readonly history: () => History;
};

/** The figures of this process's sync server (also the gauges of the metrics). */
export function syncFigures(syncServer: SyncServer) {
  return {
    connections: () => syncServer.stats().connections,
    clientGroups: () => syncServer.groups.size,
    clients: () => syncServer.groups.clientCount(),
    queries: () => syncServer.groups.summaries().reduce((n, g) => n + g.queries, 0),
  };
}

export function localAdminSource(o: LocalAdminSourceOptions): AdminSource {
  const registry: Registry = o.metrics.registry;
  return {
    statz() {
      const r = o.metrics.replication();
      const counts = processFigures(o.syncServer);
      return Promise.resolve({
        time: new Date().toISOString(),
        uptimeSeconds: Math.round(process.uptime()),
        replica: {
          version: o.replicator.version,
          lagBytes: r.lagBytes,
          lastCommitLagMs: r.lastCommitLagMs === null ? null : round(r.lastCommitLagMs),
        },
        ...counts,
        groupsTruncated: counts.clientGroups > STATZ_MAX_GROUPS,
      });
    },
    group: id => Promise.resolve(o.syncServer.groups.detail(id)),
    dropGroup: id => o.syncServer.groups.drop(id),
    async metrics() {
      return {contentType: registry.contentType, text: await registry.metrics()};
    },
    history: () => Promise.resolve(o.history()),
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * One process's connections, groups (most queries first, at most STATZ_MAX_GROUPS),
 * clients, queries and memory, as statz reports them.
 */
export function processFigures(server: SyncServer | undefined) {
  const all = server?.groups.summaries() ?? [];
  all.sort((a, b) => b.queries - a.queries || b.clients - a.clients);
  const m = process.memoryUsage();
  return {
    connections: server?.stats().connections ?? 0,
    clientGroups: all.length,
    clients: all.reduce((n, g) => n + g.clients, 0),
    queries: all.reduce((n, g) => n + g.queries, 0),
    memory: {
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      externalBytes: m.external,
    },
    groups: all.slice(0, STATZ_MAX_GROUPS),
  };
}
