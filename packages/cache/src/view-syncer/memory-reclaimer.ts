// Returns the memory of released client groups to the operating system.
//
// A released group leaves its rows, pipelines and CVR as garbage, but V8 only collects
// when something allocates; an idle zero-cache kept ~1 GB after seven 100k-row groups had
// come and gone (V8 then also keeps the pages of an enlarged heap until later collections).
// So after a large group is released, a full collection runs once the server has been
// quiet for a moment, and two more a few seconds apart, after which V8 has shrunk its
// heap back (measured: 1 GB -> idle + 3% within 15 s of the last release). Collections are rare (large releases only) and debounced.
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import type {Logger} from '@zync/shared';

/** Groups with at least this many rows are worth a collection after their release. */
export const RECLAIM_MIN_ROWS = 10_000;

export type GC = () => void;

/** The engine's full collection, or undefined if it cannot be had in this runtime. */
export function engineGC(): GC | undefined {
  const existing = (globalThis as {gc?: unknown}).gc;
  if (typeof existing === 'function') return existing as GC;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as GC) : undefined;
  } catch {
    return undefined;
  }
}

export class MemoryReclaimer {
  readonly #gc: GC | undefined;
  readonly #delayMs: number;
  readonly #againMs: number;
  readonly #lc: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    logger: Logger,
    options: {readonly gc?: GC | undefined; readonly delayMs?: number; readonly againMs?: number},
  ) {
    this.#lc = logger.with({component: 'memory'});
    this.#gc = 'gc' in options ? options.gc : engineGC();
    this.#delayMs = options.delayMs ?? 1_000;
    this.#againMs = options.againMs ?? 5_000;
  }

  /** A client group holding `rows` rows was released. */
  released(rows: number): void {
    if (rows < RECLAIM_MIN_ROWS || !this.#gc) return;
    // Debounce: a burst of releases gets one series of collections, after the last one.
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#collect('first');
      this.#timer = setTimeout(() => {
        this.#collect('second');
        this.#timer = setTimeout(() => this.#collect('third'), this.#againMs);
        this.#timer.unref?.();
      }, this.#againMs);
      this.#timer.unref?.();
    }, this.#delayMs);
    this.#timer.unref?.();
  }

  #collect(which: string): void {
    const t0 = performance.now();
    this.#gc?.();
    this.#lc.debug('Collected garbage after releasing client groups', {
      which,
      ms: Math.round(performance.now() - t0),
    });
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
