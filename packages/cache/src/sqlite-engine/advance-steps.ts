// The two kinds of advance a Snapshotter hands out: a reset, and a range of changes.
import type {ChangeLogRange, ResetReason} from './change-log.ts';
import type {TableChange} from './change-log-diff.ts';
import type {Snap} from './snapshot-pool.ts';

export class ResetStep {
  readonly kind = 'reset';
  readonly from: string;
  readonly version: string;
  readonly reason: ResetReason;
  readonly #next: Snap;
  readonly #commit: (next: Snap) => void;

  constructor(from: string, next: Snap, reason: ResetReason, commit: (next: Snap) => void) {
    this.from = from;
    this.version = next.version;
    this.reason = reason;
    this.#next = next;
    this.#commit = commit;
  }

  commit(): void {
    this.#commit(this.#next);
  }
}

export class ChangesStep {
  readonly kind = 'changes';
  readonly from: string;
  readonly version: string;
  readonly #prev: Snap;
  readonly #next: Snap;
  readonly #range: ChangeLogRange;
  readonly #commit: (next: Snap) => void;
  readonly #diff: (from: Snap, next: Snap, range: ChangeLogRange) => Iterable<TableChange>;
  #committed = false;

  constructor(
    prev: Snap,
    next: Snap,
    range: ChangeLogRange,
    commit: (next: Snap) => void,
    diff: (from: Snap, next: Snap, range: ChangeLogRange) => Iterable<TableChange>,
  ) {
    this.from = prev.version;
    this.version = next.version;
    this.#prev = prev;
    this.#next = next;
    this.#range = range;
    this.#commit = commit;
    this.#diff = diff;
  }

  changes(): Iterable<TableChange> {
    return this.#diff(this.#prev, this.#next, this.#range);
  }

  commit(): void {
    if (this.#committed) return;
    this.#committed = true;
    this.#commit(this.#next);
  }
}
