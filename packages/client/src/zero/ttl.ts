import type {TTL} from '@zync/zql';

/** The longest a query is kept on the server after its last use. */
export const MAX_TTL_MS = 10 * 60_000;
export const DEFAULT_TTL_MS = 5 * 60_000;

const UNIT_MS = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, y: 31_536_000_000} as const;

/** Converts a TTL option to milliseconds, capped at MAX_TTL_MS. */
export function ttlToMs(ttl: TTL | undefined): number {
  if (ttl === undefined) return DEFAULT_TTL_MS;
  if (ttl === 'none') return 0;
  if (ttl === 'forever') return MAX_TTL_MS;
  if (typeof ttl === 'number') return Math.min(Math.max(0, ttl), MAX_TTL_MS);
  const m = /^(\d+(?:\.\d+)?)([smhdy])$/.exec(ttl);
  if (!m) throw new TypeError(`Invalid ttl ${JSON.stringify(ttl)}: use e.g. '30s', '5m', 'none'`);
  return Math.min(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS], MAX_TTL_MS);
}
