// One view of the metrics of several zero-cache processes (e.g. sync workers and a
// replicator): each sends `getMetricsAsJSON()`, the process that serves /metrics merges them.
// Counters and histograms add up; gauges add up or take the largest value, as each metric
// declares (prom-metrics.ts). Process metrics are summed too, except start times and versions
// (prom-client's own aggregators).
import {AggregatorRegistry, type Registry} from 'prom-client';
import type {MetricsJSON} from './prom-metrics.ts';

export function mergeMetrics(parts: readonly MetricsJSON[]): Registry {
  return AggregatorRegistry.aggregate([...parts]);
}
