// Time and timers as one value that can be passed in. The token-expiry cut of a live
// connection and the wait of a large CVR write read the time and set their timers through a
// Clock, so a test can move time forward instead of waiting for it. Production code uses
// `systemClock`: `Date.now` and the global timers.

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

/** Resolves once `ms` have passed on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise(resolve => clock.setTimeout(resolve, ms));
}
