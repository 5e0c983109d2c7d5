// A histogram without labels for the paths that run per client group and per write (advance,
// poke, CVR write): `observe` is a few array operations, where prom-client's Histogram
// hashes its labels on every call. It registers in a prom-client Registry like prom-client's
// own metrics and reads out the same way (text, JSON, merging across processes).
import type {Registry} from 'prom-client';

type Value = {metricName: string; labels: Record<string, string | number>; value: number};

export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(o: {name: string; help: string; buckets: readonly number[]; registers: Registry[]}) {
    this.name = o.name;
    this.help = o.help;
    this.#bounds = [...o.buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.#bounds.length + 1);
    for (const r of o.registers) r.registerMetric(this as never);
  }

  observe(v: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.#counts[i]!++;
    this.#sum += v;
    this.#count++;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }

  /** As prom-client's Histogram gives it: cumulative buckets, then the sum and the count. */
  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    values: Value[];
    aggregator: 'sum';
  }> {
    const values: Value[] = [];
    let below = 0;
    for (const [i, le] of this.#bounds.entries()) {
      below += this.#counts[i]!;
      values.push({metricName: `${this.name}_bucket`, labels: {le}, value: below});
    }
    values.push({metricName: `${this.name}_bucket`, labels: {le: '+Inf'}, value: this.#count});
    values.push({metricName: `${this.name}_sum`, labels: {}, value: this.#sum});
    values.push({metricName: `${this.name}_count`, labels: {}, value: this.#count});
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
}
