// The engine's property test, parameterised by a Source factory so that every Source
// implementation (memory, SQLite) runs the same check: after every change, the
// incremental view equals `evaluate()` from scratch, and the row set equals the rows the
// query touches. Not a test file itself: import it from `*.test.ts`.
import type {AST, Condition} from '@zync/protocol';
import fc from 'fast-check';
import {Batcher} from '../../src/ivm/batcher.ts';
import {materialize, buildRowSet} from '../../src/ivm/build-pipeline.ts';
import {
  completeOrdering,
  makeComparator,
  rowKeyOf,
  type PrimaryKey,
  type Row,
} from '../../src/ivm/data.ts';
import {evaluate} from '../../src/ivm/evaluate.ts';
import type {RowSetChange} from '../../src/ivm/row-set.ts';
import type {Source} from '../../src/ivm/source.ts';
import {makeArbitraries, type Change} from './generators.ts';
import {TABLES, type TableSpec} from './schema.ts';

export type SourceFactory = (spec: TableSpec) => Source;

export type PropertyOptions = {
  readonly numRuns: number;
  readonly seed?: number | undefined;
  /** Data scale: 1 (default) is ~10 rows a table; larger values grow tables and limits. */
  readonly scale?: number | undefined;
  /** Also check the row-set output (server side). */
  readonly rowSet?: boolean | undefined;
};

const PKS: Record<string, PrimaryKey> = Object.fromEntries(TABLES.map(t => [t.name, t.primaryKey]));

/** Applies generated changes to plain arrays and to the sources, skipping invalid ones. */
class World {
  readonly data: Record<string, Row[]> = {};
  readonly sources = new Map<string, Source>();
  readonly batcher = new Batcher();

  constructor(factory: SourceFactory, initial: Record<string, Row[]>) {
    for (const t of TABLES) {
      this.data[t.name] = [];
      this.sources.set(t.name, factory(t));
      for (const row of initial[t.name] ?? []) this.apply({type: 'add', table: t.name, row});
    }
  }

  #find(table: string, row: Row): number {
    const pk = PKS[table] as PrimaryKey;
    const key = rowKeyOf(row, pk);
    return (this.data[table] as Row[]).findIndex(r => rowKeyOf(r, pk) === key);
  }

  /** Returns false if the change is not valid in the current state. */
  apply(c: Change): boolean {
    const rows = this.data[c.table] as Row[];
    const source = this.sources.get(c.table) as Source;
    if (c.type === 'add') {
      if (this.#find(c.table, c.row) >= 0) return false;
      rows.push(c.row);
      this.batcher.run(() => source.push({type: 'add', row: c.row}));
      return true;
    }
    if (rows.length === 0) return false;
    const i = c.index % rows.length;
    const old = rows[i] as Row;
    if (c.type === 'remove') {
      rows.splice(i, 1);
      this.batcher.run(() => source.push({type: 'remove', row: old}));
      return true;
    }
    // Keep the primary key most of the time; sometimes move it.
    const pk = PKS[c.table] as PrimaryKey;
    const keep = c.index % 4 !== 0;
    const row: Row = keep
      ? {...c.row, ...Object.fromEntries(pk.map(k => [k, old[k] ?? null]))}
      : c.row;
    const j = this.#find(c.table, row);
    if (j >= 0 && j !== i) return false;
    rows[i] = row;
    this.batcher.run(() => source.push({type: 'edit', oldRow: old, row}));
    return true;
  }

  get ctx() {
    return {getSource: (name: string) => this.sources.get(name)};
  }
}

/** The rows a query touches: result rows, related rows (junctions too), EXISTS rows. */
export function expectedRowSet(ast: AST, tables: Record<string, Row[]>): Set<string> {
  const out = new Set<string>();
  collect(ast, tables, undefined, out);
  return out;
}

function collect(
  ast: AST,
  tables: Record<string, Row[]>,
  parent: {row: Row; pf: readonly string[]; cf: readonly string[]} | undefined,
  out: Set<string>,
): void {
  // Evaluate this level alone (no related, no limit) over all rows, then correlate and limit.
  const limit = ast.one ? Math.min(ast.limit ?? 1, 1) : ast.limit;
  const plain: AST = {...ast, related: undefined, one: undefined, limit: undefined};
  let result = evaluate(plain, tables, PKS) as Row[];
  if (parent) {
    result = result.filter(r =>
      parent.pf.every(
        (f, i) =>
          parent.row[f] !== null &&
          parent.row[f] !== undefined &&
          r[parent.cf[i] as string] === parent.row[f],
      ),
    );
  }
  if (limit !== undefined) result = result.slice(0, limit);
  const pk = PKS[ast.table] as PrimaryKey;
  for (const row of result) {
    out.add(ast.table + ':' + rowKeyOf(row, pk));
    for (const e of existsOf(ast.where))
      collect(
        e.related.subquery,
        tables,
        {row, pf: e.related.correlation.parentField, cf: e.related.correlation.childField},
        out,
      );
    for (const r of ast.related ?? [])
      collect(
        r.subquery,
        tables,
        {row, pf: r.correlation.parentField, cf: r.correlation.childField},
        out,
      );
  }
}

function existsOf(c: Condition | undefined): Extract<Condition, {kind: 'exists'}>[] {
  if (!c) return [];
  if (c.kind === 'exists') return [c];
  if (c.kind === 'and' || c.kind === 'or') return c.conditions.flatMap(existsOf);
  return [];
}

function sortedTables(data: Record<string, Row[]>): Record<string, Row[]> {
  // evaluate() sorts itself; copying keeps the oracle independent of our arrays.
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [
      k,
      [...v].sort(makeComparator(completeOrdering([], PKS[k] as PrimaryKey))),
    ]),
  );
}

/** Runs the property; throws (with fast-check's counterexample) on failure. */
export function checkSourceProperty(factory: SourceFactory, options: PropertyOptions): void {
  const {queryArb, tablesArb, changesArb} = makeArbitraries(options.scale ?? 1);
  fc.assert(
    fc.property(queryArb, tablesArb, changesArb, (ast, initial, changes) => {
      const world = new World(factory, initial);
      const view = materialize(ast, world.ctx, {batcher: world.batcher});
      const rowSet = options.rowSet
        ? buildRowSet(ast, world.ctx, {batcher: world.batcher})
        : undefined;
      const mirror = new Map<string, Row>();
      if (rowSet) {
        for (const {table, row} of rowSet.rows())
          mirror.set(table + ':' + rowKeyOf(row, PKS[table] as PrimaryKey), row);
        rowSet.addListener(cs => applyRowSetChanges(mirror, cs));
      }
      let notified = 0;
      view.addListener(() => notified++);
      const check = (step: string) => {
        const expected = evaluate(ast, sortedTables(world.data), PKS);
        if (!deepEqual(view.data, expected)) {
          throw new Error(
            `view differs from evaluate() ${step}\nview: ${JSON.stringify(view.data)}\nexpected: ${JSON.stringify(expected)}`,
          );
        }
        if (rowSet) {
          const want = expectedRowSet(ast, world.data);
          const got = new Set(mirror.keys());
          if (want.size !== got.size || [...want].some(k => !got.has(k))) {
            throw new Error(
              `row set differs ${step}\ngot: ${[...got].sort().join(' ')}\nwant: ${[...want].sort().join(' ')}`,
            );
          }
          for (const [key, row] of mirror) {
            const [table] = key.split(':') as [string];
            const cur = world.data[table]?.find(
              r => table + ':' + rowKeyOf(r, PKS[table] as PrimaryKey) === key,
            );
            if (!deepEqual(cur, row)) throw new Error(`row set holds a stale row ${key} ${step}`);
          }
        }
      };
      check('after hydrate');
      changes.forEach((c, i) => {
        if (world.apply(c)) check(`after change ${i} ${JSON.stringify(c)}`);
      });
      const before = notified;
      // A batch of changes notifies listeners at most once.
      world.batcher.run(() => changes.slice(0, 5).forEach(c => world.apply(c)));
      if (notified - before > 1) throw new Error('a batch notified listeners more than once');
      check('after batch');
      view.destroy();
      rowSet?.destroy();
    }),
    {numRuns: options.numRuns, ...(options.seed !== undefined ? {seed: options.seed} : {})},
  );
}

function applyRowSetChanges(mirror: Map<string, Row>, changes: readonly RowSetChange[]): void {
  for (const c of changes) {
    const key = c.table + ':' + rowKeyOf(c.row, PKS[c.table] as PrimaryKey);
    if (c.type === 'remove') {
      if (!mirror.delete(key)) throw new Error(`row set removed an absent row ${key}`);
    } else if (c.type === 'add') {
      if (mirror.has(key)) throw new Error(`row set added a present row ${key}`);
      mirror.set(key, c.row);
    } else {
      if (!mirror.has(key)) throw new Error(`row set edited an absent row ${key}`);
      mirror.set(key, c.row);
    }
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter(k => ao[k] !== undefined);
  const bk = Object.keys(bo).filter(k => bo[k] !== undefined);
  return ak.length === bk.length && ak.every(k => deepEqual(ao[k], bo[k]));
}
