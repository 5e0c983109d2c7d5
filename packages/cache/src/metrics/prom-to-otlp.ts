// prom-client's metrics (its JSON form) as OpenTelemetry metric data, so that the OTLP export
// sends exactly what /metrics shows: same names, help texts and labels (as attributes).
// Counters become monotonic cumulative sums, gauges gauges, histograms cumulative explicit-
// bucket histograms. Loaded only when an OTLP endpoint is configured.
import type {HrTime} from '@opentelemetry/api';
import {ValueType} from '@opentelemetry/api';
import {AggregationTemporality, DataPointType, type MetricData} from '@opentelemetry/sdk-metrics';
import type {MetricsJSON} from './prom-metrics.ts';

type Labels = Record<string, string | number>;

const attributesOf = (labels: Labels | undefined, drop?: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (k !== drop) out[k] = String(v);
  return out;
};

export function toOtelMetrics(json: MetricsJSON, start: HrTime, now: HrTime): MetricData[] {
  const out: MetricData[] = [];
  for (const m of json) {
    const descriptor = {name: m.name, description: m.help, unit: '', valueType: ValueType.DOUBLE};
    const values = m.values as {value: number; labels: Labels; metricName?: string}[];
    switch (m.type as unknown as string) {
      case 'counter':
        out.push({
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: values.map(v => ({
            startTime: start,
            endTime: now,
            attributes: attributesOf(v.labels),
            value: v.value,
          })),
        });
        break;
      case 'gauge':
        out.push({
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.GAUGE,
          dataPoints: values.map(v => ({
            startTime: start,
            endTime: now,
            attributes: attributesOf(v.labels),
            value: v.value,
          })),
        });
        break;
      case 'histogram':
        out.push({
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: histogramPoints(m.name, values, start, now),
        });
        break;
      default:
        // Summaries: none of zero-cache's metrics is one.
        break;
    }
  }
  return out;
}

type Series = {
  attributes: Record<string, string>;
  buckets: Map<number, number>;
  sum: number;
  count: number;
};

function histogramPoints(
  name: string,
  values: readonly {value: number; labels: Labels; metricName?: string}[],
  start: HrTime,
  now: HrTime,
) {
  const series = new Map<string, Series>();
  for (const v of values) {
    const attributes = attributesOf(v.labels, 'le');
    const key = JSON.stringify(Object.entries(attributes).sort());
    let s = series.get(key);
    if (!s) {
      s = {attributes, buckets: new Map(), sum: 0, count: 0};
      series.set(key, s);
    }
    if (v.metricName === `${name}_bucket`) {
      const le = v.labels['le'];
      s.buckets.set(le === '+Inf' ? Infinity : Number(le), v.value);
    } else if (v.metricName === `${name}_sum`) {
      s.sum = v.value;
    } else if (v.metricName === `${name}_count`) {
      s.count = v.value;
    }
  }
  return [...series.values()].map(s => {
    const bounds = [...s.buckets.keys()].filter(Number.isFinite).sort((a, b) => a - b);
    // Prometheus buckets are cumulative; OTLP counts each bucket on its own.
    const counts: number[] = [];
    let below = 0;
    for (const b of bounds) {
      const c = s.buckets.get(b) ?? below;
      counts.push(c - below);
      below = c;
    }
    counts.push(s.count - below);
    return {
      startTime: start,
      endTime: now,
      attributes: s.attributes,
      value: {buckets: {boundaries: bounds, counts}, sum: s.sum, count: s.count},
    };
  });
}
