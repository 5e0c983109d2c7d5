// The OTLP export through the official SDK, to a receiver on 127.0.0.1: what /metrics shows
// arrives as OTLP/HTTP JSON at the endpoint the standard OTEL_* variables name.
import {createServer, type IncomingMessage} from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterEach, expect, test, vi} from 'vitest';
import {silentLogger} from '@zync/shared';
import {parseOtelConfig} from '../config/otel-config.ts';
import {startOperations} from '../admin/operations.ts';
import {noMetrics} from './metrics.ts';
import {startOtlpExport} from './otlp-export.ts';
import {PromMetrics} from './prom-metrics.ts';

type Received = {path: string; headers: IncomingMessage['headers']; body: unknown};
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function receiver(): Promise<{url: string; received: Received[]}> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
      });
      res.writeHead(200, {'content-type': 'application/json'}).end('{}');
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise(r => server.close(() => r())));
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received};
}

type OtlpBody = {
  resourceMetrics: {
    resource: {attributes: {key: string; value: {stringValue?: string}}[]};
    scopeMetrics: {
      metrics: {
        name: string;
        gauge?: {dataPoints: {asDouble?: number}[]};
        sum?: {dataPoints: {asDouble?: number; attributes: {key: string}[]}[]};
        histogram?: {dataPoints: {count: string | number}[]};
      }[];
    }[];
  }[];
};

const metricsOf = (b: unknown) =>
  (b as OtlpBody).resourceMetrics.flatMap(r => r.scopeMetrics.flatMap(s => s.metrics));

test('OTEL_EXPORTER_OTLP_ENDPOINT set: the same metrics are pushed to <endpoint>/v1/metrics', async () => {
  const rx = await receiver();
  const config = parseOtelConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: `${rx.url}/otlp/`,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=abc%20def',
    OTEL_METRIC_EXPORT_INTERVAL: '100',
    OTEL_SERVICE_NAME: 'zero-cache-test',
  })!;
  const m = new PromMetrics({processMetrics: false});
  m.watch({connections: () => 3, clientGroups: () => 1, clients: () => 3, queries: () => 2});
  m.hydration(20);
  m.apiCall('push', 'ok', 15);
  const exp = startOtlpExport(m.registry, config, silentLogger);
  closers.push(() => exp.stop());
  await vi.waitFor(() => expect(rx.received.length).toBeGreaterThan(0), {timeout: 10_000});
  const first = rx.received[0]!;
  expect(first.path).toBe('/otlp/v1/metrics');
  expect(first.headers['x-collector-key']).toBe('abc def');
  expect(first.headers['content-type']).toMatch(/application\/json/);
  const body = first.body as OtlpBody;
  expect(body.resourceMetrics[0]!.resource.attributes).toContainEqual({
    key: 'service.name',
    value: {stringValue: 'zero-cache-test'},
  });
  const byName = new Map(metricsOf(body).map(x => [x.name, x]));
  expect(byName.get('zero_cache_connections')?.gauge?.dataPoints[0]?.asDouble).toBe(3);
  expect(Number(byName.get('zero_cache_hydration_seconds')?.histogram?.dataPoints[0]?.count)).toBe(
    1,
  );
  const calls = byName.get('zero_cache_api_requests_total')?.sum?.dataPoints ?? [];
  expect(calls).toHaveLength(12);
  // A later value goes out at a later interval.
  m.watch({connections: () => 5, clientGroups: () => 1, clients: () => 5, queries: () => 2});
  await vi.waitFor(
    () => {
      const last = rx.received.at(-1)!;
      const conn = metricsOf(last.body).find(x => x.name === 'zero_cache_connections');
      expect(conn?.gauge?.dataPoints[0]?.asDouble).toBe(5);
    },
    {timeout: 10_000},
  );
});

test('stop() sends what is left, then nothing more is sent', async () => {
  const rx = await receiver();
  const m = new PromMetrics({processMetrics: false});
  const exp = startOtlpExport(
    m.registry,
    parseOtelConfig({OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${rx.url}/m`})!,
    silentLogger,
  );
  // The interval is 60 s: only stop() can have sent this.
  await exp.stop();
  expect(rx.received.map(r => r.path)).toEqual(['/m']);
});

test('without an OTLP endpoint or a password no metrics are kept', async () => {
  const ops = startOperations({adminPassword: undefined, otlpMetrics: undefined}, silentLogger);
  expect(ops.metrics).toBe(noMetrics);
  await ops.stop();
  expect(parseOtelConfig({})).toBeUndefined();
  expect(
    parseOtelConfig({OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true'}),
  ).toBeUndefined();
});
