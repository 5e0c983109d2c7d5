// A clock for tests that moves only when told to. It has the shape of zero-cache's Clock
// (packages/cache/src/server/clock.ts): code under test reads the time and sets timers
// through it, and the test calls `advance` instead of waiting. Timers that fall due run
// synchronously inside `advance`, in order of due time (then of creation), each with the
// clock set to its own due time; promise callbacks they start run once the test awaits.

type ManualTimer = {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
  unref(): ManualTimer;
};

export class ManualClock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, ManualTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly setTimeout = (fn: () => void, ms: number): ManualTimer => {
    const timer: ManualTimer = {
      id: this.#nextId++,
      at: this.#now + Math.max(0, ms),
      fn,
      unref: () => timer,
    };
    this.#timers.set(timer.id, timer);
    return timer;
  };

  readonly clearTimeout = (timer: unknown): void => {
    if (typeof timer === 'object' && timer !== null && 'id' in timer) {
      this.#timers.delete((timer as ManualTimer).id);
    }
  };

  /** Timers set and not yet run or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`advance: ms must be a finite number ≥ 0, got ${ms}`);
    }
    const end = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at > end) continue;
        if (!next || t.at < next.at || (t.at === next.at && t.id < next.id)) next = t;
      }
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }

  /** Moves the time forward to `at` (which must not lie in the past). */
  advanceTo(at: number): void {
    this.advance(at - this.#now);
  }
}
