/** Full-jitter exponential backoff: a random delay in [min, min(max, base * 2^attempt)]. */
export function backoffDelayMs(
  attempt: number,
  {
    baseMs = 250,
    maxMs = 10_000,
    random = Math.random,
  }: {
    baseMs?: number;
    maxMs?: number;
    random?: () => number;
  } = {},
): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(baseMs / 2 + random() * (cap - baseMs / 2));
}
