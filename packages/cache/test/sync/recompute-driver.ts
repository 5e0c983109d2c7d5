// A reference QueryDriver for tests: re-runs every query from scratch over its own copy of
// a MemoryReplica and diffs the results. Handles `where` without EXISTS, `orderBy` and
// `limit`: enough to exercise the view syncer independently of the incremental engine.
import type {AST, RowValue} from '@zync/protocol';
import {stableStringify} from '@zync/shared';
import {evaluateCondition} from '@zync/zql';
import type {
  AdvanceResult,
  DriverRow,
  QueryDriver,
  QueryRowChange,
} from '../../src/view-syncer/query-driver.ts';
import type {MemoryReplica} from './memory-replica.ts';

type Result = Map<string, DriverRow>;

function cmp(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number) < (b as number) ? -1 : 1;
}

export class RecomputeDriver implements QueryDriver {
  readonly #replica: MemoryReplica;
  readonly #tables: Map<string, Map<string, RowValue>>;
  readonly #queries = new Map<string, {ast: AST; result: Result}>();
  #version: string;
  destroyed = false;

  constructor(replica: MemoryReplica) {
    this.#replica = replica;
    this.#tables = replica.snapshot();
    this.#version = replica.version;
  }

  get version(): string {
    return this.#version;
  }

  get queryCount(): number {
    return this.#queries.size;
  }

  #run(ast: AST): Result {
    if (ast.related?.length) throw new TypeError('RecomputeDriver: related is not supported');
    const table = this.#tables.get(ast.table);
    if (!table) throw new TypeError(`Unknown table ${ast.table}`);
    const pk = this.#replica.primaryKeys.get(ast.table) ?? [];
    let rows = [...table.values()];
    const where = ast.where;
    if (where) rows = rows.filter(r => evaluateCondition(where, r));
    const ordering = [...(ast.orderBy ?? [])];
    for (const c of pk) if (!ordering.some(o => o[0] === c)) ordering.push([c, 'asc']);
    rows.sort((a, b) => {
      for (const [col, dir] of ordering) {
        const c = cmp(a[col], b[col]);
        if (c !== 0) return dir === 'asc' ? c : -c;
      }
      return 0;
    });
    if (ast.limit !== undefined) rows = rows.slice(0, ast.limit);
    const out: Result = new Map();
    for (const row of rows) {
      const id = this.#replica.idOf(ast.table, row);
      out.set(stableStringify(id), {table: ast.table, id, row});
    }
    return out;
  }

  addQuery(hash: string, ast: AST): DriverRow[] {
    const result = this.#run(ast);
    this.#queries.set(hash, {ast, result});
    return [...result.values()];
  }

  removeQuery(hash: string): void {
    this.#queries.delete(hash);
  }

  advance(): AdvanceResult {
    for (const c of this.#replica.changesSince(this.#version)) {
      const m = this.#tables.get(c.table);
      if (!m) continue;
      const key = stableStringify(
        (this.#replica.primaryKeys.get(c.table) ?? []).map(k => c.row[k] ?? null),
      );
      if (c.type === 'remove') m.delete(key);
      else m.set(key, c.row);
    }
    this.#version = this.#replica.version;
    const changes = new Map<string, QueryRowChange[]>();
    for (const [hash, q] of this.#queries) {
      const next = this.#run(q.ast);
      const list: QueryRowChange[] = [];
      for (const [k, r] of next) {
        const before = q.result.get(k);
        if (!before) list.push({type: 'add', ...r});
        else if (before.row !== r.row && stableStringify(before.row) !== stableStringify(r.row)) {
          list.push({type: 'edit', ...r});
        }
      }
      for (const [k, r] of q.result) {
        if (!next.has(k)) list.push({type: 'remove', table: r.table, id: r.id});
      }
      q.result = next;
      if (list.length > 0) changes.set(hash, list);
    }
    return {version: this.#version, changes};
  }

  destroy(): void {
    this.destroyed = true;
    this.#queries.clear();
  }
}
