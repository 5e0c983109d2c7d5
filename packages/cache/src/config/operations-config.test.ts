// The operations settings: log format, slow-hydration threshold, the admin password in
// production, and the OTEL_* variables.
import {expect, test} from 'vitest';
import {parseOtelConfig} from './otel-config.ts';
import {parseConfig} from './parse-config.ts';
import {errorOf} from '../../test/config-errors.ts';

const base = {ZERO_UPSTREAM_DB: 'postgres://u:p@db.example:5432/app'};

test('log format and slow-hydration threshold: defaults, values, refusals', () => {
  const c = parseConfig(base);
  expect(c.logFormat).toBe('text');
  expect(c.logSlowHydrateThresholdMs).toBe(100);
  expect(c.otlpMetrics).toBeUndefined();
  const j = parseConfig({...base, ZERO_LOG_FORMAT: 'json', ZERO_LOG_SLOW_HYDRATE_THRESHOLD: '5'});
  expect(j.logFormat).toBe('json');
  expect(j.logSlowHydrateThresholdMs).toBe(5);
  expect(errorOf(() => parseConfig({...base, ZERO_LOG_FORMAT: 'xml'})).message).toBe(
    'ZERO_LOG_FORMAT must be one of text, json, got "xml"',
  );
  expect(errorOf(() => parseConfig({...base, ZERO_LOG_SLOW_HYDRATE_THRESHOLD: '0'})).variable).toBe(
    'ZERO_LOG_SLOW_HYDRATE_THRESHOLD',
  );
});

test('production needs ZERO_ADMIN_PASSWORD; development does not; the value is never echoed', () => {
  const e = errorOf(() => parseConfig({...base, NODE_ENV: 'production'}));
  expect(e.kind).toBe('missing');
  expect(e.variable).toBe('ZERO_ADMIN_PASSWORD');
  expect(e.message).toMatch(/^ZERO_ADMIN_PASSWORD is required with NODE_ENV=production/);
  expect(
    parseConfig({...base, NODE_ENV: 'production', ZERO_ADMIN_PASSWORD: 'pw'}).adminPassword,
  ).toBe('pw');
  expect(parseConfig(base).adminPassword).toBeUndefined();
});

test('OTLP: the endpoint, the signal path, headers, interval and resource', () => {
  expect(parseOtelConfig({})).toBeUndefined();
  const c = parseOtelConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318',
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db,x=1',
    OTEL_METRIC_EXPORT_INTERVAL: '15000',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
  })!;
  expect(c.url).toBe('https://collector.example:4318/v1/metrics');
  expect(c.headers).toEqual({'api-key': 'a=b', x: '1'});
  expect(c.intervalMs).toBe(15_000);
  expect(c.timeoutMs).toBe(30_000);
  expect(c.resource).toEqual({'deployment.environment': 'prod', 'service.name': 'zero-cache'});
  // The metrics endpoint is used as written.
  expect(
    parseOtelConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a.example',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b.example/custom',
    })!.url,
  ).toBe('http://b.example/custom');
  expect(
    parseOtelConfig({OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a', OTEL_METRICS_EXPORTER: 'none'}),
  ).toBeUndefined();
  expect(
    parseOtelConfig({OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a', OTEL_SDK_DISABLED: 'true'}),
  ).toBeUndefined();
  // Through parseConfig too.
  expect(parseConfig({...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a'}).otlpMetrics?.url).toBe(
    'http://a/v1/metrics',
  );
});

test('OTLP settings zero-cache cannot honour are refused, naming the fix', () => {
  const at = (env: Record<string, string>) => errorOf(() => parseOtelConfig(env));
  const endpoint = {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a.example'};
  expect(at({...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc'}).message).toMatch(
    /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/json .*got "grpc"; unset it or set http\/json/,
  );
  expect(at({OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318'}).variable).toBe(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
  );
  expect(at({...endpoint, OTEL_METRIC_EXPORT_INTERVAL: 'often'}).variable).toBe(
    'OTEL_METRIC_EXPORT_INTERVAL',
  );
  expect(at({...endpoint, OTEL_METRICS_EXPORTER: 'prometheus'}).message).toMatch(/otlp or none/);
  const bad = at({...endpoint, OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign-secret'});
  expect(bad.message).not.toContain('no-equals-sign-secret');
});
