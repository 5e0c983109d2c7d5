// zero-cache's operations side, composed from the config: metrics (kept only when they can
// be read: ZERO_ADMIN_PASSWORD for /metrics, or an OTLP endpoint), the admin endpoints, the
// status page's history, and the OTLP export (loaded only when configured).
import type {Logger} from '@zync/shared';
import type {ZeroConfig} from '../config/parse-config.ts';
import {noMetrics, type Metrics} from '../metrics/metrics.ts';
import type {OtlpExport} from '../metrics/otlp-export.ts';
import {startOtlpLazily} from '../metrics/otlp-lazy.ts';
import {PromMetrics} from '../metrics/prom-metrics.ts';
import type {Replicator} from '../replicator/replicator.ts';
import type {SyncServer} from '../server/sync-server.ts';
import {adminHttpHandler, type HttpHandler} from './admin-http.ts';
import {localAdminSource, syncFigures} from './admin-source.ts';
import {sampleHistory, type HistorySampler} from './history.ts';

export type OperationsOptions = {
  /** How often the status page's history is sampled (default 10 s). */
  readonly historyIntervalMs?: number | undefined;
};

export type Operations = {
  /** What the subsystems report to (a no-op when metrics are off). */
  readonly metrics: Metrics;
  /** The admin endpoints, for the sync server's HTTP port. */
  readonly http: HttpHandler;
  /** Starts serving figures of these services. */
  attach(syncServer: SyncServer, replicator: Pick<Replicator, 'version'>): void;
  stop(): Promise<void>;
};

export function startOperations(
  config: Pick<ZeroConfig, 'adminPassword' | 'otlpMetrics'>,
  lc: Logger,
  options: OperationsOptions = {},
): Operations {
  const on = config.adminPassword !== undefined || config.otlpMetrics !== undefined;
  const prom = on ? new PromMetrics() : undefined;
  let handler: HttpHandler = () => false;
  let sampler: HistorySampler | undefined;
  let otlp: Promise<OtlpExport | undefined> = Promise.resolve(undefined);
  const otlpConfig = config.otlpMetrics;
  if (prom && otlpConfig) {
    otlp = startOtlpLazily(prom.registry, otlpConfig, lc);
  }
  if (config.adminPassword === undefined) {
    lc.info('Admin endpoints and /metrics are off (ZERO_ADMIN_PASSWORD is not set)');
  }
  return {
    metrics: prom ?? noMetrics,
    http: (req, res) => handler(req, res),
    attach(syncServer, replicator) {
      if (!prom) return;
      const figures = syncFigures(syncServer);
      prom.watch(figures);
      if (config.adminPassword === undefined) return;
      const intervalMs = options.historyIntervalMs ?? 10_000;
      sampler = sampleHistory(() => {
        const r = prom.replication();
        return {
          t: Date.now(),
          connections: figures.connections(),
          clientGroups: figures.clientGroups(),
          queries: figures.queries(),
          lagMs: prom.takeIntervalLagMs(),
          lagBytes: r.lagBytes,
          rssBytes: process.memoryUsage.rss(),
        };
      }, intervalMs);
      const history = sampler.history;
      handler = adminHttpHandler({
        password: config.adminPassword,
        logger: lc,
        source: localAdminSource({
          syncServer,
          replicator,
          metrics: prom,
          history: () => ({intervalMs, samples: history.samples()}),
        }),
      });
      lc.info('Admin endpoints on /metrics and /admin (ZERO_ADMIN_PASSWORD)');
    },
    async stop() {
      sampler?.stop();
      await (await otlp)?.stop();
    },
  };
}
