// Cooperative steps: a group's step that hydrates many queries (or many rows) gives the
// event loop back every `sliceMs`, so that other groups' pokes and socket reads are not
// held up behind it. A group's own steps stay in order on its queue, so yielding inside
// a step changes nothing that the group's clients see: the step ends in one poke.
import {setImmediate as nextTurn} from 'node:timers/promises';

/** The longest a step runs before it yields (well under the 50 ms a user notices). */
export const DEFAULT_SLICE_MS = 20;

export class TimeSlice {
  readonly #sliceMs: number;
  readonly #now: () => number;
  #since: number;

  constructor(sliceMs = DEFAULT_SLICE_MS, now: () => number = () => performance.now()) {
    this.#sliceMs = sliceMs;
    this.#now = now;
    this.#since = now();
  }

  /** True when the slice is used up (cheap: call it often, yield when it says so). */
  get due(): boolean {
    return this.#now() - this.#since >= this.#sliceMs;
  }

  /** Yields to the event loop if the slice is used up. */
  async yield(): Promise<void> {
    if (!this.due) return;
    await nextTurn();
    this.#since = this.#now();
  }
}
