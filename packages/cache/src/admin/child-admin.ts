// A child process's side of the operations endpoints when zero-cache runs as several
// processes (docs/operations.md, "Several processes"): the child keeps its own metrics
// registry and answers the dispatcher's `admin` requests (messages.ts) from it and from its
// sync server or replicator. The dispatcher merges the answers (processes/dispatcher-admin.ts).
import type {ZeroConfig} from '../config/parse-config.ts';
import {noMetrics, type Metrics} from '../metrics/metrics.ts';
import {PromMetrics} from '../metrics/prom-metrics.ts';
import type {AdminReply, AdminRequest, ChildStatz} from '../processes/messages.ts';
import type {Replicator} from '../replicator/replicator.ts';
import type {SyncServer} from '../server/sync-server.ts';
import {processFigures, syncFigures} from './admin-source.ts';

export type ChildAdmin = {
  /** What the child's subsystems report to (a no-op when metrics are off). */
  readonly metrics: Metrics;
  /** A sync worker: its groups and connections are what it reports. */
  attachSyncServer(server: SyncServer): void;
  /** The replicator: the replica's version is what it reports. */
  attachReplicator(replicator: Pick<Replicator, 'version'>): void;
  answer<K extends AdminRequest['kind']>(
    request: Extract<AdminRequest, {kind: K}>,
  ): Promise<AdminReply[K]>;
};

export function childAdmin(config: Pick<ZeroConfig, 'adminPassword' | 'otlpMetrics'>): ChildAdmin {
  const on = config.adminPassword !== undefined || config.otlpMetrics !== undefined;
  const prom = on ? new PromMetrics() : undefined;
  let server: SyncServer | undefined;
  let replicator: Pick<Replicator, 'version'> | undefined;

  const statz = (takeIntervalLag: boolean): ChildStatz => {
    const r = prom?.replication() ?? {lagBytes: 0, lastCommitLagMs: null};
    return {
      ...processFigures(server),
      replica: replicator && {
        version: replicator.version,
        lagBytes: r.lagBytes,
        lastCommitLagMs: r.lastCommitLagMs,
        intervalLagMs: takeIntervalLag ? (prom?.takeIntervalLagMs() ?? null) : null,
      },
    };
  };

  return {
    metrics: prom ?? noMetrics,
    attachSyncServer(s) {
      server = s;
      prom?.watch(syncFigures(s));
    },
    attachReplicator(r) {
      replicator = r;
    },
    async answer(request) {
      const req = request as AdminRequest;
      type R = AdminReply[typeof request.kind];
      switch (req.kind) {
        case 'metrics':
          return (prom ? await prom.json() : []) as R;
        case 'statz':
          return statz(req.takeIntervalLag) as R;
        case 'group':
          return (server?.groups.detail(req.clientGroupID) ?? null) as R;
        case 'drop':
          if (!server) throw new Error('not a sync worker');
          return (await server.groups.drop(req.clientGroupID)) as R;
      }
    },
  };
}
