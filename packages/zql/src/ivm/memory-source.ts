// An in-memory Source: rows in a B+ tree by primary key, plus secondary B+ trees built on
// demand for each (constraint columns, ordering) that a connection asks for.
// Connections, pushes and the overlay rule come from source-base.ts.
import type {Ordering} from '@zync/protocol';
import type {Batcher} from './batcher.ts';
import {
  completeOrdering,
  HIGH,
  LOW,
  makeComparator,
  type Comparator,
  type PrimaryKey,
  type Row,
  type Value,
} from './data.ts';
import {NO_RELATIONSHIPS, type FetchRequest, type Node} from './operator.ts';
import {
  constraintHasNull,
  reachesStart,
  SourceBase,
  SourceConnectionBase,
  type ConnectionSpec,
} from './source-base.ts';
import {SortedTree} from './sorted-tree.ts';

type Tree = SortedTree<Row>;

type Index = {readonly ordering: Ordering; readonly compare: Comparator; readonly tree: Tree};

export type MemorySourceOptions = {
  /** Every push runs inside a batch of this batcher, so views flush once per change. */
  readonly batcher?: Batcher | undefined;
};

export class MemorySource extends SourceBase<Connection> {
  readonly #primary: Index;
  readonly #indexes = new Map<string, Index>();
  /** The values of #indexes, for the loop of every commit. */
  readonly #indexList: Index[] = [];

  constructor(
    tableName: string,
    primaryKey: PrimaryKey,
    rows: Iterable<Row> = [],
    options: MemorySourceOptions = {},
  ) {
    super(tableName, primaryKey, options.batcher);
    const ordering = completeOrdering([], primaryKey);
    const compare = makeComparator(ordering);
    this.#primary = {ordering, compare, tree: new SortedTree(compare)};
    this.#indexes.set(JSON.stringify(ordering), this.#primary);
    this.#indexList.push(this.#primary);
    for (const row of rows) {
      if (!this.#primary.tree.set(row))
        throw new TypeError(`Duplicate primary key in ${tableName}`);
    }
  }

  get size(): number {
    return this.#primary.tree.size;
  }

  /** The stored row with the same primary key as `row`, if any. */
  get(row: Row): Row | undefined {
    // A key past the largest is absent after one comparison (see SortedTree.get), which is
    // what a large initial sync (rows arriving in key order) asks over and over.
    return this.#primary.tree.get(row);
  }

  rows(): Iterable<Row> {
    return this.#primary.tree.keys();
  }

  protected openConnection(spec: ConnectionSpec): Connection {
    return new Connection(this, spec);
  }

  add(row: Row): void {
    this.push({type: 'add', row});
  }

  remove(row: Row): void {
    this.push({type: 'remove', row});
  }

  edit(oldRow: Row, row: Row): void {
    this.push({type: 'edit', oldRow, row});
  }

  protected keyChanged(removed: Row, added: Row): boolean {
    return this.#primary.compare(removed, added) !== 0;
  }

  protected commit(added: Row | undefined, removed: Row | undefined): void {
    const indexes = this.#indexList;
    for (let i = 0; i < indexes.length; i++) {
      const idx = indexes[i] as Index;
      // Same position in this index: overwrite the key in place.
      if (removed && added && idx.compare(removed, added) === 0) {
        idx.tree.set(added, true);
        continue;
      }
      if (removed) idx.tree.delete(removed);
      if (added) idx.tree.set(added);
    }
  }

  get primaryIndex(): Index {
    return this.#primary;
  }

  indexFor(ordering: Ordering): Index {
    const key = JSON.stringify(ordering);
    let idx = this.#indexes.get(key);
    if (!idx) {
      const compare = makeComparator(ordering);
      const tree: Tree = new SortedTree(compare);
      // In key order every insert is an append to the last leaf.
      const rows = [...this.#primary.tree.keys()].sort(compare);
      for (const row of rows) tree.set(row);
      idx = {ordering, compare, tree};
      this.#indexes.set(key, idx);
      this.#indexList.push(idx);
    }
    return idx;
  }
}

type ConstraintIndex = {readonly index: Index; readonly cols: readonly string[]};

class Connection extends SourceConnectionBase {
  readonly #source: MemorySource;
  readonly #byConstraint = new Map<string, ConstraintIndex>();

  constructor(source: MemorySource, spec: ConnectionSpec) {
    super(source, spec);
    this.#source = source;
  }

  #coversPrimaryKey(constraint: Readonly<Record<string, Value>>): boolean {
    for (const k of this.#source.primaryKey) if (!(k in constraint)) return false;
    return true;
  }

  /** A constraint naming the whole primary key: at most one row, found by point lookup. */
  #lookup(constraint: Readonly<Record<string, Value>>, req: FetchRequest): Row | undefined {
    const overlay = this.#source.pushOverlayFor(this);
    let row: Row | undefined;
    const add = overlay.add;
    if (add && this.#source.primaryIndex.compare(add, constraint) === 0) row = add;
    else {
      row = this.#source.get(constraint);
      if (row && row === overlay.remove) row = undefined;
    }
    if (!row) return undefined;
    for (const k in constraint) if (row[k] !== constraint[k]) return undefined;
    if (this.hasFilter && !this.predicate(row)) return undefined;
    const start = req.start;
    if (
      start &&
      !reachesStart(this.schema.compareRows, row, start.row, start.basis === 'after', !!req.reverse)
    ) {
      return undefined;
    }
    return row;
  }

  #indexFor(constraint: Readonly<Record<string, Value>> | undefined): ConstraintIndex {
    let key = '';
    if (constraint) for (const k in constraint) key += k + '\u0000';
    let ci = this.#byConstraint.get(key);
    if (!ci) {
      const cols = constraint ? Object.keys(constraint).sort() : [];
      const ordering: Ordering = [
        ...cols.map(c => [c, 'asc'] as const),
        ...this.ordering.filter(o => !cols.includes(o[0])),
      ];
      ci = {index: this.#source.indexFor(ordering), cols};
      this.#byConstraint.set(key, ci);
    }
    return ci;
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    const constraint = req.constraint;
    if (constraintHasNull(constraint)) return;
    if (constraint && this.#coversPrimaryKey(constraint)) {
      const row = this.#lookup(constraint, req);
      if (row) yield {row, relationships: NO_RELATIONSHIPS};
      return;
    }
    const {index, cols} = this.#indexFor(constraint);
    const compare = index.compare;
    const reverse = req.reverse === true;
    const start = req.start;
    const probe: Record<string, Value> = {};
    for (const [col] of index.ordering) {
      probe[col] =
        constraint && col in constraint
          ? (constraint[col] as Value)
          : start
            ? (start.row[col] as Value)
            : reverse
              ? HIGH
              : LOW;
    }
    const after = start?.basis === 'after';
    const overlay = this.#source.pushOverlayFor(this);
    const removed = overlay.remove;
    let pending = overlay.add;
    if (pending) {
      if (constraint && !matches(pending, constraint, cols)) pending = undefined;
      else if (this.hasFilter && !this.predicate(pending)) pending = undefined;
      else if (!reachesStart(compare, pending, probe, after, reverse)) pending = undefined;
    }
    const it = reverse ? index.tree.downFrom(probe, after) : index.tree.from(probe);
    for (const row of it) {
      if (constraint && !matches(row, constraint, cols)) break;
      if (after && !reverse && compare(row, probe) === 0) continue;
      if (row === removed) continue;
      if (this.hasFilter && !this.predicate(row)) continue;
      if (pending && compare(pending, row) * (reverse ? -1 : 1) < 0) {
        const p = pending;
        pending = undefined;
        yield {row: p, relationships: NO_RELATIONSHIPS};
      }
      yield {row, relationships: NO_RELATIONSHIPS};
    }
    if (pending) yield {row: pending, relationships: NO_RELATIONSHIPS};
  }
}

function matches(
  row: Row,
  constraint: Readonly<Record<string, Value>>,
  cols: readonly string[],
): boolean {
  for (const c of cols) if (row[c] !== constraint[c]) return false;
  return true;
}
