// Pushes this process's metrics over OTLP/HTTP (JSON) every interval, through the official
// OpenTelemetry SDK: a periodic reader whose only source is a producer reading the prom-client
// registry (with several processes: the dispatcher's merged view of them all), so the same
// metrics go out as /metrics serves. Imported (dynamically) only when
// an OTLP endpoint is configured (config/otel-config.ts).
import type {HrTime} from '@opentelemetry/api';
import {OTLPMetricExporter} from '@opentelemetry/exporter-metrics-otlp-http';
import {resourceFromAttributes} from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type MetricProducer,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type {Registry} from 'prom-client';
import type {Logger} from '@zync/shared';
import type {OtlpMetricsConfig} from '../config/otel-config.ts';
import {toOtelMetrics} from './prom-to-otlp.ts';

export type OtlpExport = {
  /** Sends what is left and stops. */
  stop(): Promise<void>;
};

const SCOPE = {name: 'zero-cache'};

/** Now as OpenTelemetry's [seconds, nanoseconds]. */
function hrTime(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

/** What the export reads: a registry, or several processes' figures merged. */
export type OtlpSource = Pick<Registry, 'getMetricsAsJSON'>;

export function startOtlpExport(
  registry: OtlpSource,
  config: OtlpMetricsConfig,
  lc: Logger,
): OtlpExport {
  const log = lc.with({component: 'otlp'});
  const start = hrTime();
  const producer: MetricProducer = {
    async collect(): Promise<CollectionResult> {
      const metrics = toOtelMetrics(await registry.getMetricsAsJSON(), start, hrTime());
      return {
        resourceMetrics: {resource, scopeMetrics: [{scope: SCOPE, metrics}]},
        errors: [],
      };
    },
  };
  const resource = resourceFromAttributes({...config.resource});
  const otlp = new OTLPMetricExporter({
    url: config.url,
    headers: {...config.headers},
    timeoutMillis: Math.min(config.timeoutMs, config.intervalMs),
  });
  // Failures are logged when they start and when they end, not at every interval. The
  // message names no header (they may hold keys).
  let failing = false;
  const exporter: PushMetricExporter = {
    export(metrics, done) {
      otlp.export(metrics, result => {
        const ok = Number(result.code) === 0; // ExportResultCode.SUCCESS
        if (!ok && !failing) {
          log.warn('OTLP metrics export failed; retrying at the next interval', {
            error: result.error?.name ?? 'unknown',
          });
        } else if (ok && failing) {
          log.info('OTLP metrics export works again');
        }
        failing = !ok;
        done(result);
      });
    },
    forceFlush: () => otlp.forceFlush(),
    shutdown: () => otlp.shutdown(),
    selectAggregationTemporality: t => otlp.selectAggregationTemporality(t),
  };
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: config.intervalMs,
    exportTimeoutMillis: Math.min(config.timeoutMs, config.intervalMs),
    metricProducers: [producer],
  });
  const provider = new MeterProvider({resource, readers: [reader]});
  log.info('Exporting metrics over OTLP', {
    url: new URL(config.url).origin + new URL(config.url).pathname,
    intervalMs: config.intervalMs,
  });
  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      // Shutting down collects and exports one last time.
      (stopping ??= provider.shutdown().catch(() => {})),
  };
}
