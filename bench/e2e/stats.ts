// Figures as the benchmarks report them: the median of several runs, with min and max.

export type Figure = {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
};

export function figure(runs: readonly number[]): Figure {
  if (runs.length === 0) throw new TypeError('figure needs at least one run');
  const sorted = [...runs].sort((a, b) => a - b);
  return {median: median(sorted), min: sorted[0]!, max: sorted[sorted.length - 1]!, runs};
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Nearest-rank percentile of a list of samples. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en');
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** `median (min–max) unit`, the way every figure is printed. */
export function show(f: Figure, unit: string): string {
  return `${fmt(f.median)} ${unit} (${fmt(f.min)}–${fmt(f.max)})`;
}
