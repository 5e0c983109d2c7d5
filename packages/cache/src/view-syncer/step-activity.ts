// Which client groups are in the middle of a step, process-wide. CVR writes are
// bookkeeping: when many groups work at once (50 clients connecting together, or one
// upstream write fanning out to every group) a write waits until no group is stepping,
// so hydrations and pokes go first, and the waiting writes go out together.

export class StepActivity {
  #running = 0;
  readonly #waiters = new Set<() => void>();

  begin(): void {
    this.#running++;
  }

  end(): void {
    this.#running--;
    if (this.#running > 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  get busy(): boolean {
    return this.#running > 0;
  }

  /** Resolves once no step runs, or after `maxWaitMs` (so that writes are never starved). */
  idle(maxWaitMs: number): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise<void>(resolve => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      timer.unref?.();
      this.#waiters.add(done);
    });
  }
}
