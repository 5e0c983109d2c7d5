// Groups source changes into one transaction so that views notify their listeners once,
// after the last change (the client applies a whole poke this way).

export class Batcher {
  #depth = 0;
  readonly #pending = new Set<() => void>();
  #flushing = false;

  get inBatch(): boolean {
    return this.#depth > 0;
  }

  begin(): void {
    this.#depth++;
  }

  /** Ends a batch; the outermost end runs every scheduled flush once. */
  end(): void {
    if (this.#depth === 0) throw new TypeError('Batcher.end() without begin()');
    this.#depth--;
    if (this.#depth === 0) this.#flush();
  }

  /** Runs `fn` inside a batch (nestable). */
  run<T>(fn: () => T): T {
    this.begin();
    try {
      return fn();
    } finally {
      this.end();
    }
  }

  /** Schedules `flush` for the end of the current batch, or runs it now outside one. */
  schedule(flush: () => void): void {
    if (this.#depth === 0 && !this.#flushing) {
      flush();
      return;
    }
    this.#pending.add(flush);
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#pending.size > 0) {
        const fns = [...this.#pending];
        this.#pending.clear();
        for (const fn of fns) fn();
      }
    } finally {
      this.#flushing = false;
    }
  }
}
