// A FIFO mutex: one writer at a time per database within this JS context.
export class Lock {
  #tail: Promise<void> = Promise.resolve();

  /** Resolves with a release function once every earlier holder has released. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>(resolve => {
      release = resolve;
    });
    const prev = this.#tail;
    this.#tail = prev.then(() => next);
    let released = false;
    return prev.then(() => () => {
      if (!released) {
        released = true;
        release();
      }
    });
  }
}
