// Skip: implements `start(row, {inclusive})`: drops rows that sort before the bound.
import type {Bound} from '@zync/protocol';
import {compareValues, type Row, type Value} from './data.ts';
import {
  NULL_OUTPUT,
  type Change,
  type FetchRequest,
  type Input,
  type Node,
  type Output,
  type SourceSchema,
} from './operator.ts';

export class Skip implements Input, Output {
  readonly #input: Input;
  readonly #bound: Row;
  readonly #exclusive: boolean;
  readonly #cols: readonly string[];
  readonly #dirs: readonly number[];
  /** The bound names every ordering column, so sources can seek to it. */
  readonly #full: boolean;
  #output: Output = NULL_OUTPUT;

  constructor(input: Input, bound: Bound) {
    this.#input = input;
    const ordering = input.getSchema().ordering;
    const inBound = ordering.filter(o => o[0] in bound.row);
    this.#bound = bound.row as Row;
    this.#exclusive = bound.exclusive;
    this.#cols = inBound.map(o => o[0]);
    this.#dirs = inBound.map(o => (o[1] === 'asc' ? 1 : -1));
    this.#full = inBound.length === ordering.length;
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

  cleanup(constraint: Readonly<Record<string, Value>>, stillAsked: () => boolean): void {
    this.#input.cleanup?.(constraint, stillAsked);
  }

  #before(row: Row): boolean {
    for (let i = 0; i < this.#cols.length; i++) {
      const col = this.#cols[i] as string;
      const c = compareValues(row[col] as Value, this.#bound[col] as Value);
      if (c !== 0) return c * (this.#dirs[i] as number) < 0;
    }
    return this.#exclusive;
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    if (req.reverse) {
      for (const node of this.#input.fetch(req)) {
        if (this.#before(node.row)) return;
        yield node;
      }
      return;
    }
    let r = req;
    if (this.#full && !req.constraint && (!req.start || this.#before(req.start.row))) {
      r = {start: {row: this.#bound, basis: this.#exclusive ? 'after' : 'at'}};
    }
    let passed = false;
    for (const node of this.#input.fetch(r)) {
      if (!passed) {
        if (this.#before(node.row)) continue;
        passed = true;
      }
      yield node;
    }
  }

  push(change: Change): void {
    if (change.type === 'edit') {
      const oldIn = !this.#before(change.oldNode.row);
      const newIn = !this.#before(change.node.row);
      if (oldIn && newIn) this.#output.push(change);
      else if (newIn) this.#output.push({type: 'add', node: change.node});
      else if (oldIn) this.#output.push({type: 'remove', node: change.oldNode});
      return;
    }
    if (!this.#before(change.node.row)) this.#output.push(change);
  }
}
