// Take: implements `limit(n)`, per partition (the correlation key of a subquery, so that
// each parent gets its own n children). State per partition is only the window's size
// and its last row ("bound"); rows are re-read from the input, never copied.
//
// Consistency: before every push downstream, the state is set so that `fetch` returns
// exactly the rows pushed so far. Hence when a row enters a full window we push the
// add first (the window briefly holds n+1 rows) and then remove the old bound.
import {tupleKey, type Comparator, type Row, type Value} from './data.ts';
import {
  NULL_OUTPUT,
  type Change,
  type FetchRequest,
  type Input,
  type Node,
  type Output,
  type SourceSchema,
} from './operator.ts';

type State = {size: number; bound: Row | undefined};

export class Take implements Input, Output {
  readonly #input: Input;
  readonly #limit: number;
  readonly #partitionKey: readonly string[];
  readonly #compare: Comparator;
  readonly #states = new Map<unknown, State>();
  #output: Output = NULL_OUTPUT;

  constructor(input: Input, limit: number, partitionKey: readonly string[] = []) {
    this.#input = input;
    this.#limit = limit;
    this.#partitionKey = partitionKey;
    this.#compare = input.getSchema().compareRows;
    input.setOutput(this);
  }

  getSchema(): SourceSchema {
    return this.#input.getSchema();
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#input.destroy();
  }

  /** Drops the window of a partition no parent asks for any more (see Input.cleanup). */
  cleanup(constraint: Readonly<Record<string, Value>>, stillAsked: () => boolean): void {
    if (this.#partitionKey.length === 0 || !this.#isPartition(constraint)) return;
    const key = this.#key(constraint);
    if (this.#states.has(key) && !stillAsked()) this.#states.delete(key);
  }

  /** How many partition windows are held (for tests). */
  get partitions(): number {
    return this.#states.size;
  }

  #key(row: Readonly<Record<string, Value>>): unknown {
    const pk = this.#partitionKey;
    if (pk.length === 0) return '';
    if (pk.length === 1) return row[pk[0] as string];
    return tupleKey(row, pk);
  }

  #constraintOf(row: Row): Record<string, Value> | undefined {
    if (this.#partitionKey.length === 0) return undefined;
    const c: Record<string, Value> = {};
    for (const k of this.#partitionKey) c[k] = row[k] as Value;
    return c;
  }

  /** Whether `constraint` names exactly the partition columns. */
  #isPartition(constraint: Readonly<Record<string, Value>> | undefined): boolean {
    const pk = this.#partitionKey;
    if (!constraint) return pk.length === 0;
    let n = 0;
    for (const k in constraint) {
      if (!pk.includes(k)) return false;
      n++;
    }
    return n === pk.length;
  }

  #hydrate(key: unknown, constraint: Readonly<Record<string, Value>> | undefined): State {
    let size = 0;
    let bound: Row | undefined;
    if (this.#limit > 0) {
      for (const node of this.#input.fetch({constraint})) {
        size++;
        bound = node.row;
        if (size === this.#limit) break;
      }
    }
    const state = {size, bound};
    this.#states.set(key, state);
    return state;
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    if (this.#limit === 0) return;
    const compare = this.#compare;
    if (this.#isPartition(req.constraint)) {
      const key = this.#key(req.constraint ?? {});
      let state = this.#states.get(key);
      if (!state) {
        if (!req.start && !req.reverse) {
          yield* this.#hydrateStreaming(key, req);
          return;
        }
        state = this.#hydrate(key, req.constraint);
      }
      const bound = state.bound;
      if (!bound) return;
      if (req.reverse) {
        const start =
          req.start && compare(req.start.row, bound) <= 0
            ? req.start
            : {row: bound, basis: 'at' as const};
        yield* this.#input.fetch({...req, start});
        return;
      }
      for (const node of this.#input.fetch(req)) {
        if (compare(node.row, bound) > 0) return;
        yield node;
      }
      return;
    }
    // Any other constraint (a join looking up parents): keep rows inside their window.
    if (this.#partitionKey.length === 0 && !this.#states.has('')) this.#hydrate('', undefined);
    for (const node of this.#input.fetch(req)) {
      const state = this.#states.get(this.#key(node.row));
      if (state?.bound && compare(node.row, state.bound) <= 0) yield node;
    }
  }

  /** Hydrates while yielding; completes the state even if the consumer stops early. */
  *#hydrateStreaming(key: unknown, req: FetchRequest): Iterable<Node> {
    const it = this.#input.fetch(req)[Symbol.iterator]();
    let size = 0;
    let bound: Row | undefined;
    try {
      while (size < this.#limit) {
        const r = it.next();
        if (r.done) break;
        size++;
        bound = r.value.row;
        yield r.value;
      }
    } finally {
      while (size < this.#limit) {
        const r = it.next();
        if (r.done) break;
        size++;
        bound = r.value.row;
      }
      it.return?.();
      this.#states.set(key, {size, bound});
    }
  }

  #first(
    constraint: Record<string, Value> | undefined,
    row: Row,
    basis: 'at' | 'after',
    reverse: boolean,
  ): Node | undefined {
    for (const node of this.#input.fetch({constraint, start: {row, basis}, reverse})) return node;
    return undefined;
  }

  #last(constraint: Record<string, Value> | undefined): Row | undefined {
    for (const node of this.#input.fetch({constraint, reverse: true})) return node.row;
    return undefined;
  }

  push(change: Change): void {
    if (this.#limit === 0) return;
    const row = change.node.row;
    const state = this.#states.get(this.#key(row));
    if (!state) return;
    const compare = this.#compare;
    const out = this.#output;
    switch (change.type) {
      case 'add': {
        if (state.size < this.#limit) {
          state.size++;
          if (!state.bound || compare(row, state.bound) > 0) state.bound = row;
          out.push(change);
          return;
        }
        const oldBound = state.bound as Row;
        if (compare(row, oldBound) > 0) return;
        this.#evict(state, oldBound, change);
        return;
      }
      case 'remove': {
        const bound = state.bound;
        if (!bound || compare(row, bound) > 0) return;
        const constraint = this.#constraintOf(row);
        const full = state.size === this.#limit;
        state.size--;
        if (compare(row, bound) === 0) {
          state.bound = this.#first(constraint, bound, 'after', true)?.row;
        }
        out.push(change);
        if (full) this.#refill(state, constraint, bound);
        return;
      }
      case 'child': {
        if (state.bound && compare(row, state.bound) <= 0) out.push(change);
        return;
      }
      case 'edit': {
        const bound = state.bound;
        if (!bound) return;
        const oldRow = change.oldNode.row;
        const constraint = this.#constraintOf(row);
        const oldIsBound = compare(oldRow, bound) === 0;
        if (state.size < this.#limit) {
          // Not full: the window is the whole partition, its bound the partition's last row.
          if (oldIsBound) state.bound = this.#last(constraint);
          else if (compare(row, bound) > 0) state.bound = row;
          out.push(change);
          return;
        }
        const oldIn = compare(oldRow, bound) <= 0;
        const newIn = compare(row, bound) <= 0;
        if (oldIn && newIn) {
          if (oldIsBound) state.bound = this.#first(constraint, bound, 'at', true)?.row;
          out.push(change);
        } else if (oldIn) {
          state.size--;
          if (oldIsBound) state.bound = this.#first(constraint, bound, 'after', true)?.row;
          out.push({type: 'remove', node: change.oldNode});
          this.#refill(state, constraint, bound);
        } else if (newIn) {
          this.#evict(state, bound, {type: 'add', node: change.node});
        }
        return;
      }
    }
  }

  /** A row entered a full window: push it, then push out the old bound. */
  #evict(state: State, oldBound: Row, add: Change): void {
    const constraint = this.#constraintOf(add.node.row);
    this.#output.push(add);
    const boundNode = this.#first(constraint, oldBound, 'at', false);
    state.bound = this.#first(constraint, oldBound, 'after', true)?.row;
    if (boundNode) this.#output.push({type: 'remove', node: boundNode});
  }

  /** A row left a full window: pull in the next row after the old bound, if any. */
  #refill(state: State, constraint: Record<string, Value> | undefined, oldBound: Row): void {
    const next = this.#first(constraint, oldBound, 'after', false);
    if (!next) return;
    state.size++;
    state.bound = next.row;
    this.#output.push({type: 'add', node: next});
  }
}
