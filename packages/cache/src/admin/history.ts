// The last hour of a few figures, in memory, for the status page's chart: one sample every
// interval (10 s by default) in a ring buffer of fixed size.

export type HistorySample = {
  /** Epoch ms. */
  readonly t: number;
  readonly connections: number;
  readonly clientGroups: number;
  readonly queries: number;
  /** The largest commit-to-replica lag of the interval, null when nothing was applied. */
  readonly lagMs: number | null;
  readonly lagBytes: number;
  readonly rssBytes: number;
};

export class History {
  readonly #samples: (HistorySample | undefined)[];
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TypeError('History capacity must be a positive integer');
    }
    this.#samples = new Array<HistorySample | undefined>(capacity);
  }

  record(s: HistorySample): void {
    this.#samples[this.#next] = s;
    this.#next = (this.#next + 1) % this.#samples.length;
    this.#count = Math.min(this.#count + 1, this.#samples.length);
  }

  /** Oldest first. */
  samples(): HistorySample[] {
    const n = this.#samples.length;
    const out: HistorySample[] = [];
    for (let i = 0; i < this.#count; i++) {
      out.push(this.#samples[(this.#next - this.#count + i + n) % n]!);
    }
    return out;
  }
}

export type HistorySampler = {readonly history: History; stop(): void};

/** Records `take()` now and every `intervalMs` until stopped, keeping `windowMs` of samples. */
export function sampleHistory(
  take: () => HistorySample,
  intervalMs: number,
  windowMs = 3_600_000,
): HistorySampler {
  const history = new History(Math.max(1, Math.ceil(windowMs / intervalMs)));
  history.record(take());
  const timer = setInterval(() => history.record(take()), intervalMs);
  timer.unref();
  return {history, stop: () => clearInterval(timer)};
}
