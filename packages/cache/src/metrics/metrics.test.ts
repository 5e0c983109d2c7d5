import {expect, test} from 'vitest';
import {parseMetrics, metric} from '../../../../test/e2e/metrics-text.ts';
import {mergeMetrics} from './merge.ts';
import {apiOutcomeOf, noMetrics} from './metrics.ts';
import {PromMetrics} from './prom-metrics.ts';
import {toOtelMetrics} from './prom-to-otlp.ts';
import {DataPointType} from '@opentelemetry/sdk-metrics';
import {ProtocolError} from '@zync/protocol';

const figures = (n: number) => ({
  connections: () => n,
  clientGroups: () => n * 2,
  clients: () => n * 3,
  queries: () => n * 4,
});

test('gauges are read when collected; counters and histograms count what was reported', async () => {
  const m = new PromMetrics({processMetrics: false});
  m.watch(figures(1));
  m.hydration(12);
  m.hydration(3000);
  m.apiCall('push', 'ok', 40);
  m.authFailure('expired');
  m.replicaCommit(250);
  m.replicationLagBytes(-5);
  const s = parseMetrics(await m.registry.metrics());
  expect(metric(s, 'zero_cache_connections')).toBe(1);
  expect(metric(s, 'zero_cache_queries')).toBe(4);
  expect(metric(s, 'zero_cache_hydration_seconds_count')).toBe(2);
  expect(metric(s, 'zero_cache_hydration_seconds_bucket', {le: '0.025'})).toBe(1);
  expect(metric(s, 'zero_cache_hydration_seconds_bucket', {le: '+Inf'})).toBe(2);
  expect(metric(s, 'zero_cache_api_requests_total', {endpoint: 'push', outcome: 'ok'})).toBe(1);
  // Every known label value exists from the start.
  expect(s.filter(x => x.name === 'zero_cache_api_requests_total')).toHaveLength(12);
  expect(metric(s, 'zero_cache_auth_failures_total', {kind: 'expired'})).toBe(1);
  expect(metric(s, 'zero_cache_auth_failures_total', {kind: 'bad_signature'})).toBe(0);
  expect(metric(s, 'zero_cache_replication_last_lag_seconds')).toBe(0.25);
  expect(metric(s, 'zero_cache_replication_lag_bytes')).toBe(0);
  expect(m.takeIntervalLagMs()).toBe(250);
  expect(m.takeIntervalLagMs()).toBe(null);
});

test('the registries of several processes merge: sums, and the largest lag', async () => {
  const worker = (n: number) => {
    const m = new PromMetrics({processMetrics: false});
    m.watch(figures(n));
    for (let i = 0; i < n; i++) m.hydration(5);
    m.apiCall('get_queries', 'failed', 10);
    return m;
  };
  const replicator = new PromMetrics({processMetrics: false});
  replicator.replicationLagBytes(4096);
  replicator.replicaCommit(80);
  const a = worker(2);
  const b = worker(3);
  b.replicationLagBytes(100);
  const merged = mergeMetrics([await a.json(), await b.json(), await replicator.json()]);
  const s = parseMetrics(await merged.metrics());
  expect(metric(s, 'zero_cache_connections')).toBe(5);
  expect(metric(s, 'zero_cache_client_groups')).toBe(10);
  expect(metric(s, 'zero_cache_hydration_seconds_count')).toBe(5);
  expect(metric(s, 'zero_cache_hydration_seconds_bucket', {le: '0.005'})).toBe(5);
  const failed = {endpoint: 'get_queries', outcome: 'failed'};
  expect(metric(s, 'zero_cache_api_requests_total', failed)).toBe(2);
  expect(metric(s, 'zero_cache_replication_lag_bytes')).toBe(4096);
  expect(metric(s, 'zero_cache_replica_commits_total')).toBe(1);
});

test('prom-client metrics become OTLP data: cumulative sums, gauges, per-bucket histograms', async () => {
  const m = new PromMetrics({processMetrics: false});
  m.watch(figures(2));
  m.poke('x'.repeat(100));
  m.poke('é'.repeat(1000)); // 2000 bytes of UTF-8
  m.poke('x'.repeat(5000));
  m.apiCall('push', 'auth_refused', 30);
  const out = toOtelMetrics(await m.json(), [1, 0], [2, 0]);
  const byName = new Map(out.map(d => [d.descriptor.name, d]));
  const conn = byName.get('zero_cache_connections')!;
  expect(conn.dataPointType).toBe(DataPointType.GAUGE);
  expect(conn.dataPoints[0]!.value).toBe(2);
  const calls = byName.get('zero_cache_api_requests_total')!;
  expect(calls.dataPointType).toBe(DataPointType.SUM);
  expect(calls.dataPoints).toContainEqual(
    expect.objectContaining({attributes: {endpoint: 'push', outcome: 'auth_refused'}, value: 1}),
  );
  const poke = byName.get('zero_cache_poke_bytes')!;
  expect(poke.dataPointType).toBe(DataPointType.HISTOGRAM);
  const h = poke.dataPoints[0]!.value as {
    buckets: {boundaries: number[]; counts: number[]};
    sum: number;
    count: number;
  };
  expect(h.count).toBe(3);
  expect(h.sum).toBe(7100);
  expect(h.buckets.boundaries.slice(0, 4)).toEqual([256, 1024, 4096, 16384]);
  // 100 ≤ 256; 2000 ≤ 4096; 5000 ≤ 16384; the counts add up to the total.
  expect(h.buckets.counts.slice(0, 4)).toEqual([1, 0, 1, 1]);
  expect(h.buckets.counts.reduce((x, y) => x + y, 0)).toBe(3);
  expect(poke.dataPoints[0]!.attributes).toEqual({});
});

test('outcomes of API calls that threw, and the no-op metrics', () => {
  expect(apiOutcomeOf(new ProtocolError('AuthInvalidated', 'x'))).toBe('auth_refused');
  expect(apiOutcomeOf(new ProtocolError('PushFailed', 'x'))).toBe('failed');
  expect(apiOutcomeOf(new ProtocolError('Unauthorized', 'x'))).toBe('rejected');
  expect(apiOutcomeOf(new Error('bug'))).toBe('error');
  expect(() => noMetrics.hydration(1)).not.toThrow();
  expect(Object.isFrozen(noMetrics)).toBe(true);
});
