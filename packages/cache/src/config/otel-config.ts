// The OpenTelemetry settings zero-cache honours, read from the standard `OTEL_*` variables
// (not ZERO_* ones: collectors and platforms set these). Metrics are pushed over OTLP/HTTP
// only when an OTLP endpoint is named; otherwise nothing of OpenTelemetry is loaded.
// See docs/operations.md.
import {ConfigError} from './config-error.ts';

export type OtlpMetricsConfig = {
  /** Where metrics are POSTed (the full URL, `/v1/metrics` included). */
  readonly url: string;
  /** Extra request headers (e.g. an API key of the collector). Never logged. */
  readonly headers: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Resource attributes; `service.name` among them. */
  readonly resource: Readonly<Record<string, string>>;
};

type Env = Readonly<Record<string, string | undefined>>;

const set = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
};

function httpUrl(name: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError('invalid', name, `${name} must be an http:// or https:// URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError('invalid', name, `${name} must be an http:// or https:// URL`);
  }
  return u.toString();
}

function positiveInt(env: Env, name: string, dflt: number): number {
  const raw = set(env, name);
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new ConfigError('invalid', name, `${name} must be a positive integer (ms), got "${raw}"`);
  }
  return Number(raw);
}

/** `key=value,key2=value2` with percent-encoded values, as the OpenTelemetry spec writes them. */
function keyValues(env: Env, name: string, secret: boolean): Record<string, string> {
  const raw = set(env, name);
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (key === '') {
      throw new ConfigError(
        'invalid',
        name,
        `${name} must be a comma-separated list of key=value pairs${secret ? '' : `, got "${raw}"`}`,
      );
    }
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as written
    }
    out[key] = value;
  }
  return out;
}

/**
 * The OTLP metrics export asked for by `env`, or undefined when none is: no endpoint set,
 * `OTEL_SDK_DISABLED=true` or `OTEL_METRICS_EXPORTER=none`. Throws ConfigError for values
 * zero-cache cannot honour.
 */
export function parseOtelConfig(env: Env): OtlpMetricsConfig | undefined {
  if (set(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const exporters = set(env, 'OTEL_METRICS_EXPORTER')
    ?.split(',')
    .map(s => s.trim());
  if (exporters?.includes('none')) return undefined;
  if (exporters && exporters.some(e => e !== 'otlp')) {
    throw new ConfigError(
      'invalid',
      'OTEL_METRICS_EXPORTER',
      'OTEL_METRICS_EXPORTER must be otlp or none (zero-cache serves Prometheus itself on /metrics)',
    );
  }
  const metricsEndpoint = set(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  const endpoint = set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let url: string;
  if (metricsEndpoint !== undefined) {
    url = httpUrl('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', metricsEndpoint);
  } else if (endpoint !== undefined) {
    // The signal path is appended to the base endpoint (OTLP exporter spec).
    const base = httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint);
    url = `${base.replace(/\/+$/, '')}/v1/metrics`;
  } else {
    return undefined;
  }
  const protocolVar = set(env, 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = set(env, protocolVar);
  if (protocol !== undefined && protocol !== 'http/json') {
    throw new ConfigError(
      'invalid',
      protocolVar,
      `${protocolVar} must be http/json (zero-cache exports OTLP over HTTP with JSON bodies), got "${protocol}"; unset it or set http/json`,
    );
  }
  const headers = {
    ...keyValues(env, 'OTEL_EXPORTER_OTLP_HEADERS', true),
    ...keyValues(env, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS', true),
  };
  const resource = keyValues(env, 'OTEL_RESOURCE_ATTRIBUTES', false);
  resource['service.name'] =
    set(env, 'OTEL_SERVICE_NAME') ?? resource['service.name'] ?? 'zero-cache';
  return Object.freeze({
    url,
    headers: Object.freeze(headers),
    intervalMs: positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000),
    timeoutMs: positiveInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000),
    resource: Object.freeze(resource),
  });
}
