// Starts the OTLP export only when it is configured, loading the OpenTelemetry code then
// and not before: without an endpoint, no OpenTelemetry module is ever imported.
import type {Logger} from '@zync/shared';
import type {OtlpMetricsConfig} from '../config/otel-config.ts';
import type {OtlpExport, OtlpSource} from './otlp-export.ts';

/** The running export, or undefined when it could not start (logged, without details). */
export function startOtlpLazily(
  source: OtlpSource,
  config: OtlpMetricsConfig,
  lc: Logger,
): Promise<OtlpExport | undefined> {
  return import('./otlp-export.ts').then(
    m => m.startOtlpExport(source, config, lc),
    (e: unknown) => {
      lc.error('Could not start the OTLP metrics export', {
        error: e instanceof Error ? e.name : 'unknown',
      });
      return undefined;
    },
  );
}
