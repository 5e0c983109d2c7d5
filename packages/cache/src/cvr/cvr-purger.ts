// Deletes the CVRs of client groups nobody has used for a while. Without it every client
// group ever seen would keep its row records in the CVR database forever (a 100k-row
// group leaves 100k records). A client that comes back after its group was purged gets a
// reset, as after any change of epoch. See docs/cvr.md.
import type {Logger} from '@zync/shared';
import type {GroupPins} from '../auth/group-pins.ts';
import {sleep, systemClock, type Clock} from '../server/clock.ts';
import type {CVRStore} from './cvr-store.ts';

export type CVRPurgerOptions = {
  readonly store: Pick<CVRStore, 'purgeInactive'>;
  readonly pins?: GroupPins | undefined;
  /** Groups inactive for longer than this are purged. */
  readonly inactiveMs: number;
  /** Time between rounds after a round that purged something; doubles while none do. */
  readonly initialIntervalMs: number;
  /** Groups per round; grows by itself while rounds come back full. 0 disables purging. */
  readonly initialBatchSize: number;
  readonly logger: Logger;
  readonly maxIntervalMs?: number;
  /** Time and timers of the waits between rounds (default: the system clock). */
  readonly clock?: Clock | undefined;
};

/** Longest wait between rounds while there is nothing to purge. */
const MAX_INTERVAL_MS = 16 * 60_000;

export class CVRPurger {
  readonly #o: CVRPurgerOptions;
  readonly #lc: Logger;
  readonly #abort = new AbortController();
  #batch: number;
  #interval: number;
  #running: Promise<void> | undefined;

  constructor(options: CVRPurgerOptions) {
    this.#o = options;
    this.#lc = options.logger.with({component: 'cvr-purger'});
    this.#batch = options.initialBatchSize;
    this.#interval = options.initialIntervalMs;
  }

  /** Starts the rounds (the first after one interval). Does nothing if disabled. */
  start(): void {
    if (this.#o.initialBatchSize <= 0 || this.#running) return;
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await sleep(this.#o.clock ?? systemClock, this.#interval, signal);
      } catch {
        return; // stopped
      }
      try {
        await this.round();
      } catch (e) {
        // The CVR database may be briefly unreachable: try again next round.
        this.#lc.warn('CVR garbage collection failed', {
          error: e instanceof Error ? e.name : 'unknown',
        });
      }
    }
  }

  /**
   * One round: purges up to the current batch of inactive groups (and pins left without a
   * group), then sets the next interval and batch. Returns how many groups went.
   */
  async round(): Promise<number> {
    const n = await this.#o.store.purgeInactive(this.#o.inactiveMs, this.#batch);
    const pins = (await this.#o.pins?.purge?.(this.#o.inactiveMs)) ?? 0;
    const max = this.#o.maxIntervalMs ?? MAX_INTERVAL_MS;
    if (n === 0) {
      this.#interval = Math.min(this.#interval * 2, max);
    } else {
      this.#interval = this.#o.initialIntervalMs;
      // A full batch: groups go inactive faster than they are purged; take more per round.
      if (n >= this.#batch) this.#batch += this.#o.initialBatchSize;
      this.#lc.info('Purged inactive client groups', {groups: n, pins, nextBatch: this.#batch});
    }
    return n;
  }

  /** The wait before the next round, and the batch size (for tests and logs). */
  get schedule(): {intervalMs: number; batchSize: number} {
    return {intervalMs: this.#interval, batchSize: this.#batch};
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }
}
