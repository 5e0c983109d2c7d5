// What the two feeds of a replica (the Replicator, from upstream; the ChangeFollower, from
// the change log) keep alike: the ready promise, the commit listeners, a sleep that stop()
// can cut short, and retrying with backoff.
import type {Logger} from '@zync/shared';
import {safeErrorMessage} from '../pg/redact-url.ts';

export type VersionListener = (version: string) => void;

/**
 * The ready promise, the commit listeners, the wakeable sleep and the retrying of one
 * replica feed. `stopped` says whether the feed's stop() was called.
 */
export class FeedSignals {
  readonly ready: Promise<void>;
  readonly #lc: Logger;
  readonly #stopped: () => boolean;
  readonly #maxRetryDelayMs: number;
  readonly #listeners = new Set<VersionListener>();
  #resolveReady!: () => void;
  #rejectReady!: (e: unknown) => void;
  #wake: (() => void) | undefined;

  constructor(lc: Logger, stopped: () => boolean, maxRetryDelayMs = 5_000) {
    this.#lc = lc;
    this.#stopped = stopped;
    this.#maxRetryDelayMs = maxRetryDelayMs;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
  }

  resolveReady(): void {
    this.#resolveReady();
  }

  /** Without effect once `ready` has settled. */
  rejectReady(e: unknown): void {
    this.#rejectReady(e);
  }

  /** Calls `listener(version)` after each replica commit. Returns an unsubscribe function. */
  subscribe(listener: VersionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener of `version`; a listener that throws is logged, not propagated. */
  notify(version: string): void {
    for (const l of this.#listeners) {
      try {
        l(version);
      } catch (e) {
        this.#lc.error('a replica listener threw', {error: safeErrorMessage(e)});
      }
    }
  }

  /** Waits `ms`, or less if `wake()` is called meanwhile. */
  sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
      const done = () => {
        clearTimeout(t);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Ends the current `sleep`, if any. */
  wake(): void {
    this.#wake?.();
  }

  /** Runs `fn` until it succeeds, with backoff; undefined if the feed stopped first. */
  async retrying<T>(opts: RetryOptions, fn: () => Promise<T>): Promise<T | undefined> {
    const {what} = opts;
    let delay = 200;
    for (let attempt = 1; ; attempt++) {
      if (this.#stopped()) return undefined;
      try {
        return await fn();
      } catch (e) {
        if (opts.fatal(e)) throw e;
        if (this.#stopped()) return undefined;
        if (isPermanent(e)) throw opts.permanent(`${what} failed: ${safeErrorMessage(e)}`, e);
        this.#lc.warn(`${what} failed; retrying`, {
          ...opts.logFields,
          attempt,
          retryInMs: delay,
          code: (e as {code?: string}).code,
          error: safeErrorMessage(e),
        });
        await opts.beforeSleep?.();
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.#maxRetryDelayMs);
        await opts.afterSleep?.();
      }
    }
  }
}

export interface RetryOptions {
  /** What is tried, for the log and errors ("connect to upstream"). */
  readonly what: string;
  /** Added to each retry's log line (the redacted URL of the database). */
  readonly logFields: Record<string, unknown>;
  /** Errors thrown as they are, not retried; asked before the feed's `stopped`. */
  readonly fatal: (e: unknown) => boolean;
  /** The error thrown for a failure that retrying cannot fix (see `isPermanent`). */
  readonly permanent: (message: string, cause: unknown) => Error;
  /** Runs before each backoff sleep. */
  readonly beforeSleep?: (() => Promise<void>) | undefined;
  /** Runs after each backoff sleep. */
  readonly afterSleep?: (() => Promise<void>) | undefined;
}

/** Errors that retrying cannot fix (bad credentials, missing privileges, unknown database). */
export function isPermanent(e: unknown): boolean {
  const code = (e as {code?: string}).code;
  return code === '28P01' || code === '28000' || code === '42501' || code === '3D000';
}
