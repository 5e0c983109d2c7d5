// RowSetOutput: which rows (of every table) a query needs on the client: root rows,
// related rows (junction hops included) and the rows that make its EXISTS conditions
// true, except those of a `serverOnly` EXISTS (one a permission rule added), which only
// decide which parents pass. Counts references, so a row shared by several parents leaves
// only with the last.
// Emits net changes once per batch; nothing is materialized as a result tree for the app.
import type {Batcher} from './batcher.ts';
import {rowKeyOf, type PrimaryKey, type Row} from './data.ts';
import type {Change, Input, Node, Output, SourceSchema} from './operator.ts';
import {MaterializedTree, type TreeListener} from './tree.ts';

export type RowSetChange =
  | {readonly type: 'add'; readonly table: string; readonly row: Row}
  | {readonly type: 'remove'; readonly table: string; readonly row: Row}
  | {readonly type: 'edit'; readonly table: string; readonly oldRow: Row; readonly row: Row};

export type RowSetOptions = {
  readonly batcher?: Batcher | undefined;
  /** Hydrate only when `hydrate()` is called (possibly in slices). */
  readonly deferred?: boolean | undefined;
};

export type RowSetListener = (changes: readonly RowSetChange[]) => void;

/**
 * References to one row. During a push the tree can briefly hold two versions of a row
 * (a connection not yet told of an edit still serves the old one): `row` is one version
 * with `count` references, `others` counts the rest.
 */
class Entry {
  row: Row;
  count: number;
  others: Map<Row, number> | undefined;
  constructor(row: Row, count: number, others: Map<Row, number> | undefined) {
    this.row = row;
    this.count = count;
    this.others = others;
  }
}

/**
 * What the set keeps per key: the row itself when it has a single reference (almost every
 * row: no object per row beyond the row), an Entry otherwise.
 */
type Held = Row | Entry;

function rowOf(h: Held): Row {
  return h instanceof Entry ? h.row : h;
}
type Touched = {readonly table: string; readonly key: RowSetKey; readonly before: Row | undefined};

/**
 * A row's key within its table: the value itself for a one-column primary key (Map keys
 * compare by SameValueZero, so 1 and '1' stay apart), else the tuple key string. Every
 * hydrated row is keyed, so the common case builds no string.
 */
type RowSetKey = unknown;

function keyOf(row: Row, pk: PrimaryKey): RowSetKey {
  return pk.length === 1 ? row[pk[0]] : rowKeyOf(row, pk);
}

export class RowSetOutput implements Output, TreeListener {
  readonly #input: Input;
  readonly #batcher: Batcher | undefined;
  readonly #primaryKeys = new Map<string, PrimaryKey>();
  readonly #rows = new Map<string, Map<RowSetKey, Held>>();
  readonly #touched = new Map<string, Touched>();
  readonly #listeners = new Set<RowSetListener>();
  readonly #flush = () => this.#doFlush();
  /** Absent when the root table has no relationships: changes then map to rows directly. */
  readonly #tree: MaterializedTree | undefined;
  readonly #rootTable: string;
  /** The root fetch of a flat set while its hydration is unfinished. */
  #flat: Iterator<Node> | undefined;
  #hydrating = true;
  #scheduled = false;

  /**
   * `deferred`: fetch nothing yet; the owner calls `hydrate()` until it returns true and
   * pushes nothing into the pipeline's sources meanwhile.
   */
  constructor(input: Input, options: RowSetOptions = {}) {
    this.#input = input;
    this.#batcher = options.batcher;
    const schema = input.getSchema();
    collectPrimaryKeys(schema, this.#primaryKeys);
    this.#rootTable = schema.tableName;
    const deferred = options.deferred === true;
    if (hasRelationships(schema)) {
      this.#tree = new MaterializedTree(input, true, this, true, deferred);
    } else {
      this.#tree = undefined;
      if (!deferred) {
        for (const node of input.fetch({})) this.enter(schema.tableName, node.row);
      }
    }
    if (!deferred) this.#hydrated();
  }

  #hydrated(): void {
    this.#hydrating = false;
    this.#input.setOutput(this);
  }

  /** Whether the initial fetch is done (and changes are followed). */
  get hydrated(): boolean {
    return !this.#hydrating;
  }

  /**
   * Runs the initial fetch of a deferred set until it is done (true) or `pause()`, asked
   * after each row, says to stop (false; call again to resume). A throwing fetch leaves
   * the set unusable: destroy it.
   */
  hydrate(pause?: () => boolean): boolean {
    if (!this.#hydrating) return true;
    if (this.#tree) {
      if (!this.#tree.hydrate(pause)) return false;
    } else {
      const table = this.#rootTable;
      const it = (this.#flat ??= this.#input.fetch({})[Symbol.iterator]());
      try {
        for (;;) {
          const next = it.next();
          if (next.done) break;
          this.enter(table, next.value.row);
          if (pause?.()) return false;
        }
      } catch (e) {
        this.#abandon();
        throw e;
      }
      this.#flat = undefined;
    }
    this.#hydrated();
    return true;
  }

  #abandon(): void {
    const flat = this.#flat;
    this.#flat = undefined;
    flat?.return?.();
    this.#tree?.abandon();
  }

  /** Every row currently in the set (what a hydrate sends). */
  *rows(): Iterable<{readonly table: string; readonly row: Row}> {
    for (const [table, m] of this.#rows) for (const h of m.values()) yield {table, row: rowOf(h)};
  }

  /** Calls `fn` for every row currently in the set (rows() without an object per row). */
  forEachRow(fn: (table: string, row: Row) => void): void {
    for (const [table, m] of this.#rows) for (const h of m.values()) fn(table, rowOf(h));
  }

  /** Number of distinct rows in the set. */
  get size(): number {
    let n = 0;
    for (const m of this.#rows.values()) n += m.size;
    return n;
  }

  has(table: string, row: Row): boolean {
    const pk = this.#primaryKeys.get(table);
    return !!pk && !!this.#rows.get(table)?.has(keyOf(row, pk));
  }

  addListener(fn: RowSetListener): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  destroy(): void {
    if (this.#hydrating) this.#abandon();
    this.#listeners.clear();
    this.#input.destroy();
  }

  push(change: Change): void {
    if (this.#tree) this.#tree.apply(change);
    else this.#applyFlat(change);
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.#batcher) this.#batcher.schedule(this.#flush);
      else this.#doFlush();
    }
  }

  /**
   * A change to a root without relationships. Like the tree, it leaves with the row
   * object the set holds (a change may carry an equal row as another object).
   */
  #applyFlat(change: Change): void {
    const table = this.#rootTable;
    const held = (row: Row): Row => {
      const pk = this.#primaryKeys.get(table) as PrimaryKey;
      const h = this.#rows.get(table)?.get(keyOf(row, pk));
      if (!h) throw new Error('Row to change is not in the view');
      return rowOf(h);
    };
    switch (change.type) {
      case 'add': {
        const pk = this.#primaryKeys.get(table) as PrimaryKey;
        if (this.#rows.get(table)?.has(keyOf(change.node.row, pk))) {
          throw new Error(`Duplicate row added to ${table}`);
        }
        this.enter(table, change.node.row);
        return;
      }
      case 'remove':
        this.leave(table, held(change.node.row));
        return;
      case 'edit':
        this.edit(table, held(change.oldNode.row), change.node.row);
        return;
      case 'child':
        throw new Error(`A table without relationships got a child change: ${table}`);
    }
  }

  #entry(table: string, row: Row, create: boolean): {key: RowSetKey; m: Map<RowSetKey, Held>} {
    const pk = this.#primaryKeys.get(table) as PrimaryKey;
    let m = this.#rows.get(table);
    if (!m && create) {
      m = new Map();
      this.#rows.set(table, m);
    }
    const key = keyOf(row, pk);
    if (!this.#hydrating) {
      const tk = table + '\u0000' + (typeof key === 'string' ? 's' : typeof key) + String(key);
      if (!this.#touched.has(tk)) {
        const h = m?.get(key);
        this.#touched.set(tk, {table, key, before: h && rowOf(h)});
      }
    }
    return {key, m: m ?? new Map<RowSetKey, Held>()};
  }

  enter(table: string, row: Row): void {
    const {key, m} = this.#entry(table, row, true);
    const h = m.get(key);
    if (!h) m.set(key, row);
    else if (!(h instanceof Entry)) {
      m.set(key, h === row ? new Entry(row, 2, undefined) : new Entry(h, 1, new Map([[row, 1]])));
    } else if (h.row === row) h.count++;
    else {
      h.others ??= new Map();
      h.others.set(row, (h.others.get(row) ?? 0) + 1);
    }
  }

  leave(table: string, row: Row): void {
    const {key, m} = this.#entry(table, row, false);
    const h = m.get(key);
    if (!h) throw new Error('Row set out of balance');
    if (!(h instanceof Entry)) {
      if (h !== row) throw new Error('Row set out of balance');
      m.delete(key);
      return;
    }
    const e = h;
    if (e.row === row) e.count--;
    else {
      const n = e.others?.get(row);
      if (!n || !e.others) throw new Error('Row set out of balance');
      if (n === 1) e.others.delete(row);
      else e.others.set(row, n - 1);
    }
    if (e.count === 0) {
      const next = e.others?.entries().next();
      if (next && !next.done) {
        [e.row, e.count] = next.value;
        e.others?.delete(e.row);
      } else {
        m.delete(key);
        return;
      }
    }
    // back to the bare row once it has a single reference again
    if (e.count === 1 && (e.others === undefined || e.others.size === 0)) m.set(key, e.row);
  }

  edit(table: string, oldRow: Row, row: Row): void {
    this.enter(table, row);
    this.leave(table, oldRow);
  }

  #doFlush(): void {
    this.#scheduled = false;
    if (this.#touched.size === 0) return;
    const changes: RowSetChange[] = [];
    for (const t of this.#touched.values()) {
      const h = this.#rows.get(t.table)?.get(t.key);
      const after = h && rowOf(h);
      if (t.before === after) continue;
      if (!t.before) changes.push({type: 'add', table: t.table, row: after as Row});
      else if (!after) changes.push({type: 'remove', table: t.table, row: t.before});
      else changes.push({type: 'edit', table: t.table, oldRow: t.before, row: after});
    }
    this.#touched.clear();
    if (changes.length === 0) return;
    for (const fn of [...this.#listeners]) fn(changes);
  }
}

function hasRelationships(schema: SourceSchema): boolean {
  for (const _ in schema.relationships) return true;
  return false;
}

function collectPrimaryKeys(schema: SourceSchema, out: Map<string, PrimaryKey>): void {
  out.set(schema.tableName, schema.primaryKey);
  for (const name in schema.relationships) {
    const rel = schema.relationships[name];
    if (rel) collectPrimaryKeys(rel.schema, out);
  }
}
