// What every Source shares, whatever holds its rows (MemorySource's B+ trees, zero-cache's
// SQLite replica): its connections and their identity (ordering with the primary key
// appended, pushed-down filter, split keys, output), the checks of a pushed change, the
// fan-out of a change to each connection in turn with the overlay rule of docs/ivm.md
// (which version of the row each connection sees meanwhile), and the small tests a fetch
// applies to a row (constraint, start bound). A subclass keeps the rows: it looks one up
// by primary key (`get`), commits a change once every connection has it (`commit`), and
// runs fetches in its connection class.
import type {Condition, Ordering} from '@zync/protocol';
import type {Batcher} from './batcher.ts';
import {compileRowPredicate, type RowPredicate} from './condition.ts';
import {
  filteredChange,
  pushToConnections,
  splitKeyChanged,
  type PushOverlay,
  type PushTarget,
} from './connection-change.ts';
import {completeOrdering, makeComparator, type PrimaryKey, type Row, type Value} from './data.ts';
import {
  NULL_OUTPUT,
  type FetchRequest,
  type Node,
  type Output,
  type SourceSchema,
} from './operator.ts';
import type {ConnectOptions, Source, SourceChange, SourceInput} from './source.ts';

/** Nothing pushed: what a connection sees outside a push. */
export const NO_PUSH: PushOverlay = {add: undefined, remove: undefined};

/** What a connection is opened with (its ordering already ends with the primary key). */
export type ConnectionSpec = {
  readonly ordering: Ordering;
  readonly filter: Condition | undefined;
  readonly splitEditKeys: readonly string[];
};

export abstract class SourceBase<C extends SourceConnectionBase> implements Source {
  readonly tableName: string;
  readonly primaryKey: PrimaryKey;
  readonly #batcher: Batcher | undefined;
  readonly #connections: C[] = [];
  // Push in progress: connections before #pushIndex see `#full`, the one at #pushIndex
  // sees `#current`, the rest see nothing.
  #pushIndex = -1;
  #full: PushOverlay = NO_PUSH;
  #current: PushOverlay = NO_PUSH;

  constructor(tableName: string, primaryKey: PrimaryKey, batcher: Batcher | undefined) {
    this.tableName = tableName;
    this.primaryKey = primaryKey;
    this.#batcher = batcher;
  }

  /** The current row with the primary key of `row`, if any. */
  abstract get(row: Row): Row | undefined;

  /** A connection of this source (not yet listed: `connect` does that). */
  protected abstract openConnection(spec: ConnectionSpec): C;

  /** Whether two rows have different primary keys. */
  protected abstract keyChanged(removed: Row, added: Row): boolean;

  /**
   * Stores a pushed change once every connection has it (also when a connection threw):
   * `removed` leaves, `added` enters; both for an edit.
   */
  protected abstract commit(added: Row | undefined, removed: Row | undefined): void;

  connect(ordering: Ordering, options: ConnectOptions = {}): SourceInput {
    const conn = this.openConnection({
      ordering: completeOrdering(ordering, this.primaryKey),
      filter: options.filter,
      splitEditKeys: options.splitEditKeys ?? [],
    });
    this.#connections.push(conn);
    return conn;
  }

  disconnect(conn: C): void {
    const i = this.#connections.indexOf(conn);
    if (i >= 0) this.#connections.splice(i, 1);
  }

  /** Whether a change is being pushed to the connections right now. */
  protected get pushing(): boolean {
    return this.#pushIndex >= 0;
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
      if (change.type === 'edit') added = change.row;
    }
    const pkChanged = !!added && !!removed && this.keyChanged(removed, added);
    if (pkChanged && this.get(added as Row)) {
      throw new TypeError(`Row already exists in ${this.tableName}`);
    }
    this.#batcher?.begin();
    try {
      this.#full = {add: added, remove: removed};
      pushToConnections(this.#connections, added, removed, pkChanged, this.#seen);
    } finally {
      this.#pushIndex = -1;
      this.#full = NO_PUSH;
      this.#current = NO_PUSH;
      this.commit(added, removed);
      this.#batcher?.end();
    }
  }

  /** Notes which connection is being pushed to and what it sees (made once, not per push). */
  readonly #seen = (conn: C, overlay: PushOverlay): void => {
    this.#pushIndex = this.#connections.indexOf(conn);
    this.#current = overlay;
  };

  /** The rows of the change being pushed, as `conn` sees them now (docs/ivm.md). */
  pushOverlayFor(conn: C): PushOverlay {
    if (this.#pushIndex < 0) return NO_PUSH;
    const i = this.#connections.indexOf(conn);
    if (i < this.#pushIndex) return this.#full;
    if (i === this.#pushIndex) return this.#current;
    return NO_PUSH;
  }
}

/** What a connection needs of its source. */
export interface ConnectionOwner {
  readonly tableName: string;
  readonly primaryKey: PrimaryKey;
  disconnect(conn: SourceConnectionBase): void;
}

/** A source connection's identity and push side; the subclass runs `fetch`. */
export abstract class SourceConnectionBase implements SourceInput, PushTarget {
  readonly ordering: Ordering;
  readonly filter: Condition | undefined;
  readonly splitEditKeys: readonly string[];
  /** The pushed-down filter as a row test (true for every row without one). */
  protected readonly predicate: RowPredicate;
  protected readonly hasFilter: boolean;
  protected readonly schema: SourceSchema;
  readonly #source: ConnectionOwner;
  #output: Output = NULL_OUTPUT;

  constructor(source: ConnectionOwner, spec: ConnectionSpec) {
    this.#source = source;
    this.ordering = spec.ordering;
    this.filter = spec.filter;
    this.splitEditKeys = spec.splitEditKeys;
    this.predicate = compileRowPredicate(spec.filter);
    this.hasFilter = spec.filter !== undefined;
    this.schema = {
      tableName: source.tableName,
      primaryKey: source.primaryKey,
      ordering: spec.ordering,
      compareRows: makeComparator(spec.ordering),
      relationships: {},
    };
  }

  abstract fetch(req: FetchRequest): Iterable<Node>;

  getSchema(): SourceSchema {
    return this.schema;
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
    const change = filteredChange(type, row, oldRow, this.hasFilter ? this.predicate : undefined);
    if (change) this.#output.push(change);
  }
}

/** Whether a constraint names a null (or missing) value: such a fetch matches nothing. */
export function constraintHasNull(
  constraint: Readonly<Record<string, Value>> | undefined,
): boolean {
  if (constraint) {
    for (const k in constraint) {
      const v = constraint[k];
      if (v === null || v === undefined) return true;
    }
  }
  return false;
}

/**
 * Whether `row` is at or past `start` in the fetch's direction (`after`: strictly past),
 * by the connection's `compareRows`.
 */
export function reachesStart(
  compareRows: (a: Row, b: Row) => number,
  row: Row,
  start: Row,
  after: boolean,
  reverse: boolean,
): boolean {
  const c = compareRows(row, start) * (reverse ? -1 : 1);
  return c > 0 || (c === 0 && !after);
}
