// Values whose builder vouches that they are deeply frozen plain JSON (frozen plain objects
// and arrays all the way down, finite numbers). The memory store keeps such a value as it
// is, without copying or walking it: the client's row buckets are built this way, and
// walking 100k rows on every large commit cost about as much as the rest of the commit.
const vouched = new WeakSet<object>();

/** Records that `value` is deeply frozen plain JSON; only for values the caller built so. */
export function vouchFrozenJSON<T extends object>(value: T): T {
  vouched.add(value);
  return value;
}

export function isVouchedFrozenJSON(value: unknown): boolean {
  return typeof value === 'object' && value !== null && vouched.has(value);
}
