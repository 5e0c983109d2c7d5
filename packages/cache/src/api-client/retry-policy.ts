// The one retry policy of zero-cache's calls to the app's API server (pushes and
// get-queries): which failures are tried again, how often, and how long to wait in
// between. docs/writes.md ("Retries") and docs/synced-queries.md hold the reasoning.
//
// - A failure where the request cannot have reached the app (the connection could not be
//   made), and the statuses that say the request was not processed (429, 503), are always
//   retried.
// - A failure after the request may have reached the app (a reset or timeout once it was
//   sent, another 5xx, an unreadable 2xx, a body over the size cap) is retried only for a
//   call the app cannot apply twice: get-queries reads only, and a push carries mutation
//   ids that the API server checks in the same transaction as the mutation's writes.
// - 401/403 are never retried (the credentials must change first); any other status is an
//   answer.
// Waits double from `initialDelayMs` up to `maxDelayMs`; a Retry-After on 429/503 can
// lengthen a wait (never beyond `maxDelayMs`). The call gives up after `maxAttempts`
// attempts, or when the next wait would end past `maxElapsedMs` from the first attempt.

export type RetryPolicy = {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up once retrying would take longer than this, counted from the first attempt. */
  readonly maxElapsedMs: number;
  /** Attempts in all, the first included (unset: only `maxElapsedMs` bounds them). */
  readonly maxAttempts?: number | undefined;
};

/** Pushes: the client group's later pushes wait meanwhile, and mutations stay pending. */
export const DEFAULT_PUSH_RETRY: RetryPolicy = {
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  maxElapsedMs: 120_000,
  maxAttempts: 16,
};

/** get-queries: the queries wait for their transform while the group's queue is held. */
export const DEFAULT_GET_QUERIES_RETRY: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  maxElapsedMs: 30_000,
  maxAttempts: 10,
};

/** Refuses a policy that would never retry sensibly, naming the field to fix. */
export function checkRetryPolicy(p: RetryPolicy): RetryPolicy {
  const positive = (name: string, n: number) => {
    if (!Number.isFinite(n) || n <= 0) {
      throw new TypeError(`retry.${name} must be a positive number of milliseconds (got ${n})`);
    }
  };
  positive('initialDelayMs', p.initialDelayMs);
  positive('maxDelayMs', p.maxDelayMs);
  positive('maxElapsedMs', p.maxElapsedMs);
  if (p.maxAttempts !== undefined && (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1)) {
    throw new TypeError(`retry.maxAttempts must be a whole number ≥ 1 (got ${p.maxAttempts})`);
  }
  return p;
}

/**
 * Why an attempt got no answer. `sent`: the request may have reached the app. `final`:
 * the same request cannot succeed (e.g. a header value HTTP cannot carry).
 */
export type AttemptFailure = {
  readonly reason: string;
  readonly sent: boolean;
  readonly final?: boolean | undefined;
};

/** What to do with an attempt's outcome. */
export type Verdict = 'answer' | 'refused' | 'retry' | 'give-up';

/** Statuses that say the request was not processed (RFC 6585, RFC 9110). */
const NOT_PROCESSED = new Set([429, 503]);

export function statusVerdict(status: number, readable: boolean, repeatable: boolean): Verdict {
  if (status === 401 || status === 403) return 'refused';
  if (NOT_PROCESSED.has(status)) return 'retry';
  const failed = status >= 500 || (status >= 200 && status < 300 && !readable);
  if (!failed) return 'answer';
  return repeatable ? 'retry' : 'give-up';
}

export function failureVerdict(f: AttemptFailure, repeatable: boolean): 'retry' | 'give-up' {
  if (f.final) return 'give-up';
  return !f.sent || repeatable ? 'retry' : 'give-up';
}

/**
 * The wait a Retry-After header asks for, in ms (delta-seconds or an HTTP date), or
 * undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The schedule of waits of one call. */
export class Backoff {
  readonly #p: RetryPolicy;
  readonly #started: number;
  #delay: number;

  constructor(policy: RetryPolicy, started: number) {
    this.#p = policy;
    this.#started = started;
    this.#delay = policy.initialDelayMs;
  }

  /**
   * The wait before attempt `attempt + 1`, or undefined when the call must give up.
   * `asked`: a Retry-After, which can lengthen the wait up to `maxDelayMs`.
   */
  next(attempt: number, now: number, asked?: number): number | undefined {
    const p = this.#p;
    if (p.maxAttempts !== undefined && attempt >= p.maxAttempts) return undefined;
    const wait =
      asked === undefined ? this.#delay : Math.min(Math.max(this.#delay, asked), p.maxDelayMs);
    if (now - this.#started + wait > p.maxElapsedMs) return undefined;
    this.#delay = Math.min(this.#delay * 2, p.maxDelayMs);
    return wait;
  }
}
