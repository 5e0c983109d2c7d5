// An in-memory Source: rows in a B+ tree by primary key, plus secondary B+ trees built on
// demand for each (constraint columns, ordering) that a connection asks for.
import type {Condition, Ordering} from '@zync/protocol';
import BTreeModule from 'sorted-btree';
import {compileRowPredicate, type RowPredicate} from './condition.ts';
import {filteredChange, pushToConnections, splitKeyChanged} from './connection-change.ts';
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
import {
  NO_RELATIONSHIPS,
  NULL_OUTPUT,
  type FetchRequest,
  type Node,
  type Output,
  type SourceSchema,
} from './operator.ts';
import type {ConnectOptions, Source, SourceChange, SourceInput} from './source.ts';

type Tree = BTreeModule<Row, undefined>;
// sorted-btree is CommonJS with `exports.default`; bundlers and Node disagree on interop.
const BTree = (BTreeModule as unknown as {default?: typeof BTreeModule}).default ?? BTreeModule;

type Index = {readonly ordering: Ordering; readonly compare: Comparator; readonly tree: Tree};

type Overlay = {readonly add: Row | undefined; readonly remove: Row | undefined};
const NO_OVERLAY: Overlay = {add: undefined, remove: undefined};

export type MemorySourceOptions = {
  /** Every push runs inside a batch of this batcher, so views flush once per change. */
  readonly batcher?: Batcher | undefined;
};

export class MemorySource implements Source {
  readonly tableName: string;
  readonly primaryKey: PrimaryKey;
  readonly #primary: Index;
  readonly #indexes = new Map<string, Index>();
  readonly #connections: Connection[] = [];
  readonly #batcher: Batcher | undefined;
  // Push in progress: connections before #pushIndex see `#full`, the one at #pushIndex
  // sees `#current`, the rest see nothing.
  #pushIndex = -1;
  #full: Overlay = NO_OVERLAY;
  #current: Overlay = NO_OVERLAY;

  constructor(
    tableName: string,
    primaryKey: PrimaryKey,
    rows: Iterable<Row> = [],
    options: MemorySourceOptions = {},
  ) {
    this.tableName = tableName;
    this.primaryKey = primaryKey;
    this.#batcher = options.batcher;
    const ordering = completeOrdering([], primaryKey);
    const compare = makeComparator(ordering);
    this.#primary = {ordering, compare, tree: new BTree(undefined, compare)};
    this.#indexes.set(JSON.stringify(ordering), this.#primary);
    for (const row of rows) {
      if (this.#primary.tree.has(row)) throw new TypeError(`Duplicate primary key in ${tableName}`);
      this.#primary.tree.set(row, undefined);
    }
  }

  get size(): number {
    return this.#primary.tree.size;
  }

  /** The stored row with the same primary key as `row`, if any. */
  get(row: Row): Row | undefined {
    const {tree, compare} = this.#primary;
    // A key past the largest is absent: one comparison instead of a descent, which is what
    // a large initial sync (rows arriving in key order) asks over and over.
    const max = tree.maxKey();
    if (max === undefined || compare(row, max) > 0) return undefined;
    const found = tree.getPairOrNextHigher(row);
    return found && compare(found[0], row) === 0 ? found[0] : undefined;
  }

  *rows(): Iterable<Row> {
    for (const k of this.#primary.tree.keys()) yield k;
  }

  connect(ordering: Ordering, options: ConnectOptions = {}): SourceInput {
    const conn = new Connection(
      this,
      completeOrdering(ordering, this.primaryKey),
      options.filter,
      options.splitEditKeys ?? [],
    );
    this.#connections.push(conn);
    return conn;
  }

  disconnect(conn: Connection): void {
    const i = this.#connections.indexOf(conn);
    if (i >= 0) this.#connections.splice(i, 1);
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

  push(change: SourceChange): void {
    let added: Row | undefined;
    let removed: Row | undefined;
    if (change.type === 'add') {
      if (this.get(change.row)) throw new TypeError(`Row already exists in ${this.tableName}`);
      added = change.row;
    } else {
      removed = this.get(change.type === 'edit' ? change.oldRow : change.row);
      if (!removed) throw new TypeError(`Row not found in ${this.tableName}`);
      if (change.type === 'edit') {
        added = change.row;
        if (this.#primary.compare(removed, added) !== 0 && this.get(added)) {
          throw new TypeError(`Row already exists in ${this.tableName}`);
        }
      }
    }
    this.#batcher?.begin();
    try {
      this.#full = {add: added, remove: removed};
      const pkChanged = !!added && !!removed && this.#primary.compare(removed, added) !== 0;
      pushToConnections(this.#connections, added, removed, pkChanged, (conn, overlay) => {
        this.#pushIndex = this.#connections.indexOf(conn);
        this.#current = overlay;
      });
    } finally {
      this.#pushIndex = -1;
      this.#full = NO_OVERLAY;
      this.#current = NO_OVERLAY;
      for (const idx of this.#indexes.values()) {
        // Same position in this index: overwrite the key in place.
        if (removed && added && idx.compare(removed, added) === 0) {
          idx.tree.set(added, undefined, true);
          continue;
        }
        if (removed) idx.tree.delete(removed);
        if (added) idx.tree.set(added, undefined);
      }
      this.#batcher?.end();
    }
  }

  get primaryIndex(): Index {
    return this.#primary;
  }

  overlayFor(conn: Connection): Overlay {
    if (this.#pushIndex < 0) return NO_OVERLAY;
    const i = this.#connections.indexOf(conn);
    if (i < this.#pushIndex) return this.#full;
    if (i === this.#pushIndex) return this.#current;
    return NO_OVERLAY;
  }

  indexFor(ordering: Ordering): Index {
    const key = JSON.stringify(ordering);
    let idx = this.#indexes.get(key);
    if (!idx) {
      const compare = makeComparator(ordering);
      const tree: Tree = new BTree(undefined, compare);
      // Inserting in key order keeps the tree's right edge hot: much faster than random.
      const rows = [...this.#primary.tree.keys()].sort(compare);
      for (const row of rows) tree.set(row, undefined);
      idx = {ordering, compare, tree};
      this.#indexes.set(key, idx);
    }
    return idx;
  }
}

type ConstraintIndex = {readonly index: Index; readonly cols: readonly string[]};

class Connection implements SourceInput {
  readonly ordering: Ordering;
  readonly filter: Condition | undefined;
  readonly splitEditKeys: readonly string[];
  readonly #source: MemorySource;
  readonly #predicate: RowPredicate;
  readonly #hasFilter: boolean;
  readonly #schema: SourceSchema;
  readonly #byConstraint = new Map<string, ConstraintIndex>();
  #output: Output = NULL_OUTPUT;

  constructor(
    source: MemorySource,
    ordering: Ordering,
    filter: Condition | undefined,
    splitEditKeys: readonly string[],
  ) {
    this.#source = source;
    this.ordering = ordering;
    this.filter = filter;
    this.splitEditKeys = splitEditKeys;
    this.#predicate = compileRowPredicate(filter);
    this.#hasFilter = filter !== undefined;
    this.#schema = {
      tableName: source.tableName,
      primaryKey: source.primaryKey,
      ordering,
      compareRows: makeComparator(ordering),
      relationships: {},
    };
  }

  getSchema(): SourceSchema {
    return this.#schema;
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#source.disconnect(this);
  }

  changesSplitKey(oldRow: Row, row: Row): boolean {
    return splitKeyChanged(this.splitEditKeys, oldRow, row);
  }

  pushChange(type: 'add' | 'remove' | 'edit', row: Row, oldRow: Row | undefined): void {
    const change = filteredChange(type, row, oldRow, this.#hasFilter ? this.#predicate : undefined);
    if (change) this.#output.push(change);
  }

  #coversPrimaryKey(constraint: Readonly<Record<string, Value>>): boolean {
    for (const k of this.#source.primaryKey) if (!(k in constraint)) return false;
    return true;
  }

  /** A constraint naming the whole primary key: at most one row, found by point lookup. */
  #lookup(constraint: Readonly<Record<string, Value>>, req: FetchRequest): Row | undefined {
    const overlay = this.#source.overlayFor(this);
    let row: Row | undefined;
    const add = overlay.add;
    if (add && this.#source.primaryIndex.compare(add, constraint) === 0) row = add;
    else {
      row = this.#source.get(constraint);
      if (row && row === overlay.remove) row = undefined;
    }
    if (!row) return undefined;
    for (const k in constraint) if (row[k] !== constraint[k]) return undefined;
    if (this.#hasFilter && !this.#predicate(row)) return undefined;
    const start = req.start;
    if (start) {
      const c = this.#schema.compareRows(row, start.row) * (req.reverse ? -1 : 1);
      if (c < 0 || (c === 0 && start.basis === 'after')) return undefined;
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
    if (constraint) {
      for (const k in constraint) {
        const v = constraint[k];
        if (v === null || v === undefined) return;
      }
    }
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
    const overlay = this.#source.overlayFor(this);
    const removed = overlay.remove;
    let pending = overlay.add;
    if (pending) {
      if (constraint && !matches(pending, constraint, cols)) pending = undefined;
      else if (this.#hasFilter && !this.#predicate(pending)) pending = undefined;
      else {
        const c = compare(pending, probe) * (reverse ? -1 : 1);
        if (c < 0 || (c === 0 && after)) pending = undefined;
      }
    }
    const reused: (Row | undefined)[] = [];
    const it = reverse
      ? index.tree.entriesReversed(probe, reused, after)
      : index.tree.entries(probe, reused);
    for (const [row] of it) {
      if (constraint && !matches(row, constraint, cols)) break;
      if (after && !reverse && compare(row, probe) === 0) continue;
      if (row === removed) continue;
      if (this.#hasFilter && !this.#predicate(row)) continue;
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
