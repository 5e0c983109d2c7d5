// When a client group's CVR write goes out: after its pokes, between steps, and (for a
// large write) after the clients had time to apply it. See docs/view-syncer.md.
import {setImmediate as nextTurn} from 'node:timers/promises';
import {sleep, systemClock, type Clock} from '../server/clock.ts';
import type {CVR} from './cvr.ts';
import type {CVRStore} from './cvr-store.ts';
import type {SyncLimits} from '../server/limits.ts';
import type {StepActivity} from '../view-syncer/step-activity.ts';
import type {Metrics} from '../metrics/metrics.ts';

/** How long a CVR write waits at most for other groups' steps to end. */
const MAX_WRITE_WAIT_MS = 1_000;

/** CVR writes larger than this wait `largeCVRWriteDelayMs` (see SyncLimits). */
const LARGE_CVR_WRITE_ROWS = 2_000;

export type CVRFlushOptions = {
  readonly store: CVRStore;
  readonly limits: SyncLimits;
  /** Steps of all groups of the process. */
  readonly activity: StepActivity;
  readonly cvr: () => CVR | undefined;
  readonly done: () => boolean;
  /** True while the group runs a step. */
  readonly stepping: () => boolean;
  /** The group's queue of operations. */
  readonly queue: () => Promise<void>;
  readonly onError: (e: unknown) => void;
  /** CVR writes queued (the backlog) and the time each takes. */
  readonly metrics: Metrics;
  /** Time and timers of the large-write delay (default: the system clock). */
  readonly clock?: Clock | undefined;
};

export class CVRFlush {
  readonly #o: CVRFlushOptions;
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;

  constructor(options: CVRFlushOptions) {
    this.#o = options;
  }

  /** Settles once the last scheduled write is done (or failed). */
  get flushing(): Promise<void> {
    return this.#flushing;
  }

  /**
   * Pokes go out before their CVR write lands (see docs/cvr.md for what a crash means).
   * The write waits for the previous one and then for the event loop to turn, so the
   * pokes of every group woken by the same replica change go out first; what changed is
   * taken between two steps (never from a step half done), so steps settled meanwhile
   * become one write, and row hashes are computed there, off the poke's path. A large
   * write (a hydration) also waits `largeCVRWriteDelayMs` for the clients to apply it.
   */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const metrics = this.#o.metrics;
    metrics.cvrFlushBacklog(1);
    this.#flushing = this.#flushing
      .then(() => this.#betweenSteps())
      .then(async () => {
        // A large write waits before it even builds its records: that work would hold up
        // the event loop while the poke it follows is still being written to the socket.
        if ((this.#o.cvr()?.dirtyRowCount ?? 0) > LARGE_CVR_WRITE_ROWS && !this.#o.done()) {
          await sleep(this.#o.clock ?? systemClock, this.#o.limits.largeCVRWriteDelayMs);
          await this.#betweenSteps();
        }
        this.#scheduled = false;
        const cvr = this.#o.cvr();
        if (!cvr?.hasDirty) return;
        const t0 = performance.now();
        await this.#o.store.flush(cvr.takeWrites());
        metrics.cvrFlush(performance.now() - t0);
      })
      .catch((e: unknown) => this.#o.onError(e))
      .finally(() => metrics.cvrFlushBacklog(-1));
  }

  /**
   * Resolves on a later turn of the event loop at which this group runs no step, and no
   * other group does either (for at most MAX_WRITE_WAIT_MS).
   */
  async #betweenSteps(): Promise<void> {
    await nextTurn();
    await this.#o.activity.idle(MAX_WRITE_WAIT_MS);
    while (this.#o.stepping()) {
      await this.#o.queue();
      await nextTurn();
    }
  }
}
