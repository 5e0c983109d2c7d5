// Watches one query's hydration over the replica without changing it: every SQL statement
// the SQLite sources issue (with the parameters of its first run, how often it ran and how
// many rows SQLite returned), and for each statement the shape of the table access behind
// it (which columns it constrains and orders by), taken from the engine's own request.
import type Database from 'better-sqlite3';
import type {Condition, Ordering} from '@zync/protocol';
import type {
  ConnectOptions,
  FetchRequest,
  Node,
  Output,
  PrimaryKey,
  Source,
  SourceChange,
  SourceInput,
  SourceSchema,
} from '@zync/zql/ivm';
import type {SQLiteSource} from '../sqlite-engine/sqlite-source.ts';
import {StatementCache} from '../sqlite-engine/statement-cache.ts';

/** The columns a table access uses, by how an index could serve them. */
export type AccessShape = {
  /** Compared for equality (`=`, `IS`, `IN`): join keys and equality filters. */
  readonly equality: readonly string[];
  /** Compared by range (`<`, `<=`, `>`, `>=`). */
  readonly range: readonly string[];
  /** Filtered in ways an index does not serve (`!=`, `LIKE`, inside `OR`/`NOT`, …). */
  readonly other: readonly string[];
  /** The ordering the access returns rows in (the primary key ends it). */
  readonly order: readonly string[];
};

export type StatementRecord = {
  readonly table: string;
  readonly sql: string;
  /** The parameters of its first run (for EXPLAIN QUERY PLAN). */
  params: readonly unknown[];
  executions: number;
  /** Rows SQLite returned to the engine. */
  rowsRead: number;
  shape: AccessShape | undefined;
};

type Access = {readonly table: string; readonly shape: AccessShape};

export class AccessRecorder {
  readonly statements = new Map<string, StatementRecord>();
  /** Rows each table's connections handed to the engine, after the source's own checks. */
  readonly rowsFetched = new Map<string, number>();
  /** The access being fetched right now (fetches nest: joins fetch children mid-parent). */
  #current: Access | undefined;

  /** The statement cache of `table`'s source: records what it hands out. */
  statementsFor(table: string): StatementCache {
    return new RecordingStatementCache(this, table);
  }

  /** A source that reports the shape of each of its fetches. */
  observe(source: SQLiteSource): Source {
    return new ObservedSource(this, source);
  }

  withAccess<T>(access: Access, fn: () => T): T {
    const outer = this.#current;
    this.#current = access;
    try {
      return fn();
    } finally {
      this.#current = outer;
    }
  }

  record(table: string, sql: string): StatementRecord {
    let r = this.statements.get(sql);
    if (!r) {
      r = {table, sql, params: [], executions: 0, rowsRead: 0, shape: undefined};
      this.statements.set(sql, r);
    }
    const access = this.#current;
    if (r.shape === undefined && access?.table === table) r.shape = access.shape;
    return r;
  }

  countFetched(table: string): void {
    this.rowsFetched.set(table, (this.rowsFetched.get(table) ?? 0) + 1);
  }
}

class RecordingStatementCache extends StatementCache {
  readonly #recorder: AccessRecorder;
  readonly #table: string;

  constructor(recorder: AccessRecorder, table: string) {
    super();
    this.#recorder = recorder;
    this.#table = table;
  }

  override get(db: Database.Database, sql: string, raw = false): Database.Statement {
    const stmt = super.get(db, sql, raw);
    return countingStatement(stmt, this.#recorder.record(this.#table, sql));
  }
}

/** `stmt`, with its runs and the rows they return added to `r`. */
function countingStatement(stmt: Database.Statement, r: StatementRecord): Database.Statement {
  const first = (params: unknown[]) => {
    if (r.executions++ === 0) r.params = params;
  };
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === 'iterate') {
        return (...params: unknown[]) => {
          first(params);
          const it = target.iterate(...params);
          const counted: IterableIterator<unknown> = {
            next: () => {
              const n = it.next();
              if (!n.done) r.rowsRead++;
              return n;
            },
            return: (value?: unknown) => it.return?.(value) ?? {done: true, value},
            [Symbol.iterator]: () => counted,
          };
          return counted;
        };
      }
      if (prop === 'all') {
        return (...params: unknown[]) => {
          first(params);
          const rows = target.all(...params);
          r.rowsRead += rows.length;
          return rows;
        };
      }
      if (prop === 'get') {
        return (...params: unknown[]) => {
          first(params);
          const row: unknown = target.get(...params);
          if (row !== undefined) r.rowsRead++;
          return row;
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

class ObservedSource implements Source {
  readonly #recorder: AccessRecorder;
  readonly #inner: SQLiteSource;

  constructor(recorder: AccessRecorder, inner: SQLiteSource) {
    this.#recorder = recorder;
    this.#inner = inner;
  }

  get tableName(): string {
    return this.#inner.tableName;
  }

  get primaryKey(): PrimaryKey {
    return this.#inner.primaryKey;
  }

  connect(ordering: Ordering, options?: ConnectOptions): SourceInput {
    return new ObservedInput(
      this.#recorder,
      this.tableName,
      this.#inner.connect(ordering, options),
    );
  }

  push(change: SourceChange): void {
    this.#inner.push(change);
  }
}

class ObservedInput implements SourceInput {
  readonly #recorder: AccessRecorder;
  readonly #table: string;
  readonly #inner: SourceInput;

  constructor(recorder: AccessRecorder, table: string, inner: SourceInput) {
    this.#recorder = recorder;
    this.#table = table;
    this.#inner = inner;
  }

  get ordering(): Ordering {
    return this.#inner.ordering;
  }

  get filter(): Condition | undefined {
    return this.#inner.filter;
  }

  get splitEditKeys(): readonly string[] {
    return this.#inner.splitEditKeys;
  }

  getSchema(): SourceSchema {
    return this.#inner.getSchema();
  }

  setOutput(output: Output): void {
    this.#inner.setOutput(output);
  }

  destroy(): void {
    this.#inner.destroy();
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    const access: Access = {
      table: this.#table,
      shape: accessShape(this.filter, Object.keys(req.constraint ?? {}), this.ordering),
    };
    const recorder = this.#recorder;
    const it = recorder.withAccess(access, () => this.#inner.fetch(req)[Symbol.iterator]());
    try {
      for (;;) {
        // The source prepares its statement inside the first step: run each step in the access.
        const n = recorder.withAccess(access, () => it.next());
        if (n.done) return;
        recorder.countFetched(this.#table);
        yield n.value;
      }
    } finally {
      recorder.withAccess(access, () => it.return?.());
    }
  }
}

/** How a fetch with `filter`, the equality `constraint` columns and `ordering` uses columns. */
export function accessShape(
  filter: Condition | undefined,
  constraint: readonly string[],
  ordering: Ordering,
): AccessShape {
  const equality = new Set(constraint);
  const range = new Set<string>();
  const other = new Set<string>();
  const visit = (c: Condition, top: boolean): void => {
    switch (c.kind) {
      case 'and':
        for (const x of c.conditions) visit(x, top);
        return;
      case 'or':
        for (const x of c.conditions) visit(x, false);
        return;
      case 'exists':
        return;
      case 'simple': {
        const col = c.left.kind === 'column' ? c.left.name : undefined;
        if (col === undefined || c.right.kind !== 'literal') {
          if (c.left.kind === 'column') other.add(c.left.name);
          if (c.right.kind === 'column') other.add(c.right.name);
          return;
        }
        if (top && (c.op === '=' || c.op === 'IS' || c.op === 'IN')) equality.add(col);
        else if (top && (c.op === '<' || c.op === '<=' || c.op === '>' || c.op === '>=')) {
          range.add(col);
        } else other.add(col);
        return;
      }
    }
  };
  if (filter) visit(filter, true);
  for (const c of equality) range.delete(c);
  for (const c of [...equality, ...range]) other.delete(c);
  return {
    equality: [...equality],
    range: [...range],
    other: [...other],
    order: ordering.map(([c]) => c),
  };
}
