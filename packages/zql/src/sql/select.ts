// A whole query AST → ONE SELECT: the root level's rows as columns, each related subquery
// as a JSON array built by a correlated subquery (orderBy, limit, start and `one` applied
// per parent row), nested to any depth; EXISTS conditions as correlated EXISTS subqueries.
// Names in the AST are the caller's (client names); `SqlTable` maps them to SQL.
import type {AST, Bound, Condition, CorrelatedSubquery, ExistsCondition} from '@zync/protocol';
import {quoteIdent} from '@zync/shared';
import {completeOrdering, type PrimaryKey} from '../ivm/data.ts';
import {
  compileCondition,
  falseFragment,
  trueFragment,
  unknownFragment,
  type CompareRules,
} from './condition.ts';
import type {SqlDialect} from './dialect.ts';
import {frag, joinFragments, type SqlColumn, type SqlFragment} from './fragment.ts';

export interface SqlTable {
  /** The table as a FROM item (quoted, maybe schema-qualified). */
  readonly from: string;
  readonly primaryKey: PrimaryKey;
  /** The columns result rows carry, in order. */
  readonly columns: readonly string[];
  /**
   * A column of the row aliased `alias` as a comparable value. Undefined for an unknown
   * column: its comparisons become inexact, and ordering or correlating by it throws.
   */
  column(alias: string, name: string): SqlColumn | undefined;
  /** A column's value as a result column of the root level. */
  read(alias: string, name: string): string;
  /** A column's value inside a JSON object (a related row). */
  readJson(alias: string, name: string): string;
}

export interface QueryContext {
  readonly dialect: SqlDialect;
  readonly rules?: CompareRules | undefined;
  table(name: string): SqlTable;
}

/** The effective row limit of a level (`one` means at most one). */
export function levelLimit(ast: AST): number | undefined {
  const limit = ast.one ? Math.min(ast.limit ?? 1, 1) : ast.limit;
  return limit === undefined ? undefined : Math.max(0, Math.floor(limit));
}

/**
 * Compiles a query to one statement. Inexact when some condition is (see condition.ts): a
 * caller that cannot filter afterwards refuses it.
 */
export function compileQuery(ast: AST, ctx: QueryContext): SqlFragment {
  return new QueryCompiler(ctx).root(ast);
}

/**
 * Compiles `cond` (over the rows of `table` aliased `alias`) with EXISTS conditions as
 * correlated subqueries. `aliasPrefix` keeps the subqueries' aliases apart from the caller's.
 */
export function compileWhere(
  cond: Condition | undefined,
  table: string,
  alias: string,
  ctx: QueryContext,
  aliasPrefix = 'e',
): SqlFragment {
  return new QueryCompiler(ctx, aliasPrefix).where(cond, ctx.table(table), alias);
}

class QueryCompiler {
  readonly #ctx: QueryContext;
  readonly #d: SqlDialect;
  readonly #prefix: string;
  #aliases = 0;

  constructor(ctx: QueryContext, prefix = 't') {
    this.#ctx = ctx;
    this.#d = ctx.dialect;
    this.#prefix = prefix;
  }

  root(ast: AST): SqlFragment {
    const alias = this.#alias();
    const table = this.#ctx.table(ast.table);
    const cols = table.columns.map(c => frag(`${table.read(alias, c)} AS ${quoteIdent(c)}`));
    const rels = (ast.related ?? []).map(r => {
      const sub = this.#related(r, table, alias);
      return {...sub, sql: `${sub.sql} AS ${quoteIdent(relationName(r))}`};
    });
    const select = concat([...cols, ...rels], ', ');
    const tail = this.#tail(ast, table, alias, []);
    return concat([frag('SELECT '), select, frag(` FROM ${table.from} AS ${alias}`), tail]);
  }

  where(cond: Condition | undefined, table: SqlTable, alias: string): SqlFragment {
    return compileCondition(cond, {
      dialect: this.#d,
      rules: this.#ctx.rules,
      column: name => table.column(alias, name),
      exists: e => this.#exists(e, table, alias),
    });
  }

  /** The JSON array of a related subquery's rows for the parent row at `parentAlias`. */
  #related(r: CorrelatedSubquery, parent: SqlTable, parentAlias: string): SqlFragment {
    const sub = r.subquery;
    const alias = this.#alias();
    const table = this.#ctx.table(sub.table);
    const corr = this.#correlation(r, table, alias, parent, parentAlias);
    const pairs: [string, SqlFragment][] = table.columns.map(c => [
      c,
      frag(table.readJson(alias, c)),
    ]);
    for (const nested of sub.related ?? []) {
      pairs.push([relationName(nested), this.#related(nested, table, alias)]);
    }
    const row = frag(
      this.#d.jsonObject(pairs.map(([k, f]) => [k, f.sql])),
      pairs.flatMap(([, f]) => f.params),
    );
    const order = this.#order(sub, table, alias);
    const n = frag(`, row_number() OVER (ORDER BY ${order}) AS n FROM ${table.from} AS ${alias}`);
    const inner = concat([
      frag('SELECT '),
      row,
      frag(' AS r'),
      n,
      this.#tail(sub, table, alias, corr),
    ]);
    return {...inner, sql: this.#d.jsonArray(inner.sql)};
  }

  /** WHERE (correlation, condition, start), ORDER BY and LIMIT of one level. */
  #tail(ast: AST, table: SqlTable, alias: string, extra: SqlFragment[]): SqlFragment {
    const conds = [...extra];
    if (ast.where) conds.push(this.where(ast.where, table, alias));
    if (ast.start)
      conds.push(this.where(startCondition(ast, ast.start, table.primaryKey), table, alias));
    const parts: SqlFragment[] = [];
    if (conds.length) parts.push(frag(' WHERE '), list(conds, ' AND '));
    parts.push(frag(` ORDER BY ${this.#order(ast, table, alias)}`));
    const limit = levelLimit(ast);
    if (limit !== undefined) parts.push(frag(` LIMIT ${limit}`));
    return concat(parts);
  }

  #order(ast: AST, table: SqlTable, alias: string): string {
    return completeOrdering(ast.orderBy, table.primaryKey)
      .map(([c, dir]) => this.#d.orderTerm(mustColumn(table, alias, c), dir))
      .join(', ');
  }

  /** child.childField[i] = parent.parentField[i]; NULL and json values never join. */
  #correlation(
    r: CorrelatedSubquery,
    child: SqlTable,
    childAlias: string,
    parent: SqlTable,
    parentAlias: string,
  ): SqlFragment[] {
    const {parentField, childField} = r.correlation;
    return childField.map((cf, i) => {
      const a = mustColumn(child, childAlias, cf);
      const b = mustColumn(parent, parentAlias, parentField[i] ?? '');
      if (a.kind === 'json' || b.kind === 'json' || a.kind !== b.kind) {
        return falseFragment(this.#d);
      }
      return frag(this.#d.ordered(a, '=', b.sql));
    });
  }

  #exists(e: ExistsCondition, parent: SqlTable, parentAlias: string): SqlFragment {
    const sub = e.related.subquery;
    const yes = e.op === 'EXISTS';
    if (sub.limit !== undefined && levelLimit(sub) === 0) {
      return yes ? falseFragment(this.#d) : trueFragment(this.#d);
    }
    const alias = this.#alias();
    const table = this.#ctx.table(sub.table);
    const conds = this.#correlation(e.related, table, alias, parent, parentAlias);
    if (sub.where) conds.push(this.where(sub.where, table, alias));
    if (sub.start) {
      conds.push(this.where(startCondition(sub, sub.start, table.primaryKey), table, alias));
    }
    const where = conds.length ? list(conds, ' AND ') : trueFragment(this.#d);
    // An inexact inner condition selects too many child rows: EXISTS still gives a
    // superset of the parents, NOT EXISTS would give a subset.
    if (!where.exact && !yes) return unknownFragment(this.#d, where.why ?? 'NOT EXISTS');
    return {
      ...where,
      sql: `${yes ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${table.from} AS ${alias} WHERE ${where.sql})`,
    };
  }

  #alias(): string {
    return `${this.#prefix}${this.#aliases++}`;
  }
}

function mustColumn(table: SqlTable, alias: string, name: string): SqlColumn {
  const col = table.column(alias, name);
  if (col === undefined) throw new TypeError(`unknown column "${name}" in ${table.from}`);
  return col;
}

function relationName(r: CorrelatedSubquery): string {
  return r.subquery.alias ?? r.subquery.table;
}

function list(parts: readonly SqlFragment[], glue: string): SqlFragment {
  return parts.length === 1 ? (parts[0] as SqlFragment) : joinFragments(parts, glue);
}

function concat(parts: readonly SqlFragment[], glue = ''): SqlFragment {
  const inexact = parts.find(p => !p.exact);
  return {
    sql: parts.map(p => p.sql).join(glue),
    params: parts.flatMap(p => p.params),
    exact: inexact === undefined,
    why: inexact?.why,
  };
}

/**
 * Rows at or after (`exclusive`: strictly after) the bound in the level's ordering, as a
 * ZQL condition: compiled like any other, it compares values the engine's way.
 */
export function startCondition(ast: AST, bound: Bound, primaryKey: PrimaryKey): Condition {
  const cols = completeOrdering(ast.orderBy, primaryKey).filter(([c]) =>
    Object.hasOwn(bound.row, c),
  );
  const alternatives: Condition[] = [];
  const equal: Condition[] = [];
  for (const [name, dir] of cols) {
    const v = bound.row[name] ?? null;
    const cmp = (op: '<' | '>' | 'IS' | 'IS NOT', value = v): Condition => ({
      kind: 'simple',
      op,
      left: {kind: 'column', name},
      right: {kind: 'literal', value},
    });
    let after: Condition;
    if (v === null) after = dir === 'asc' ? cmp('IS NOT') : {kind: 'or', conditions: []};
    else if (dir === 'asc') after = cmp('>');
    else after = {kind: 'or', conditions: [cmp('<'), cmp('IS', null)]};
    alternatives.push({kind: 'and', conditions: [...equal, after]});
    equal.push(cmp('IS'));
  }
  if (!bound.exclusive) alternatives.push({kind: 'and', conditions: equal});
  return {kind: 'or', conditions: alternatives};
}
