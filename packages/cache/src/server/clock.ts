// Time and timers as one value that can be passed in. The token-expiry cut of a live
// connection, the wait of a large CVR write and the CVR purger's rounds read the time and
// set their timers through a Clock, so a test can move time forward instead of waiting for
// it. Production code uses `systemClock`: `Date.now` and the global timers.

/** A pending timer, as the clock's `setTimeout` returns it. */
export interface ClockTimer {
  /** Lets the process exit while the timer is pending. */
  unref(): unknown;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: timer => clearTimeout(timer as ReturnType<typeof setTimeout> | undefined),
};

/**
 * Resolves once `ms` have passed on `clock`; rejects (and clears its timer) if `signal`
 * aborts first, with the signal's reason when it is an Error.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  const aborted = () =>
    signal?.reason instanceof Error ? signal.reason : new Error('The wait was aborted');
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(aborted());
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, {once: true});
  });
}
