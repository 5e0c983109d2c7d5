// Compiles one level of a query AST (client names) to a Postgres SELECT: where (and, or,
// simple comparisons, EXISTS over correlated subqueries), start bounds, orderBy, limit.
// Related subqueries are run level by level by run-query.ts. Semantics follow the engine:
// comparisons with NULL are false except IS / IS NOT, strings compare by code point
// (COLLATE "C"), NULL sorts first ascending, values of different types are never equal.
import type {
  AST,
  Bound,
  Condition,
  LiteralValue,
  SimpleOperator,
  ValuePosition,
} from '@zync/protocol';
import type {Schema} from '@zync/zql';
import {unreachable} from '@zync/shared';
import {quoteIdent, readExpr} from '@zync/pg';
import type {SchemaCatalog as PgCatalog} from './schema-catalog.ts';
import {ServerError} from './errors.ts';

type ValueKind = 'string' | 'number' | 'boolean' | 'json' | 'null';

/** A value in SQL plus the kind of JSON value it holds, to refuse mixed-type comparisons. */
type Typed = {readonly sql: string; readonly kind: ValueKind; readonly isColumn: boolean};

const TEXT_TYPES = new Set(['text', 'varchar']);

export class QueryCompiler {
  readonly #catalog: PgCatalog;
  readonly #schema: Schema;
  readonly params: unknown[] = [];
  #aliases = 0;

  constructor(catalog: PgCatalog) {
    this.#catalog = catalog;
    this.#schema = catalog.schema;
  }

  /** SELECT of every schema column of `ast.table`, as the client's values and names. */
  select(ast: AST, extraWhere?: Condition): string {
    const alias = this.#alias();
    const table = this.#catalog.loaded(ast.table);
    const cols = Object.keys(this.#tableSchema(ast.table).columns).map(
      c =>
        `${readExpr(this.#ref(alias, ast.table, c), this.#pgColumn(ast.table, c))} AS ${quoteIdent(c)}`,
    );
    const where = extraWhere
      ? {kind: 'and' as const, conditions: [extraWhere, ...(ast.where ? [ast.where] : [])]}
      : ast.where;
    return `SELECT ${cols.join(', ')} FROM ${table.sqlName} AS ${alias}${this.#tail(ast, alias, where, [])}`;
  }

  /** WHERE, ORDER BY and LIMIT of a level; `correlations` are extra SQL conditions. */
  #tail(ast: AST, alias: string, where: Condition | undefined, correlations: string[]): string {
    const conds = [...correlations];
    if (where) conds.push(this.#condition(where, alias, ast.table));
    if (ast.start) conds.push(this.#start(ast, ast.start, alias));
    let sql = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
    const order = (ast.orderBy ?? []).map(([col, dir]) => {
      const e = this.#column(alias, ast.table, col);
      const expr = e.kind === 'string' ? `${e.sql} COLLATE "C"` : e.sql;
      return dir === 'asc' ? `${expr} ASC NULLS FIRST` : `${expr} DESC NULLS LAST`;
    });
    if (order.length) sql += ` ORDER BY ${order.join(', ')}`;
    const limit = ast.one ? Math.min(ast.limit ?? 1, 1) : ast.limit;
    if (limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(limit))}`;
    return sql;
  }

  #condition(c: Condition, alias: string, table: string): string {
    switch (c.kind) {
      case 'and':
        return c.conditions.length === 0
          ? 'TRUE'
          : `(${c.conditions.map(x => this.#condition(x, alias, table)).join(' AND ')})`;
      case 'or':
        return c.conditions.length === 0
          ? 'FALSE'
          : `(${c.conditions.map(x => this.#condition(x, alias, table)).join(' OR ')})`;
      case 'simple':
        return this.#simple(c.op, this.#value(c.left, alias, table), c.right, alias, table);
      case 'exists': {
        const sub = c.related.subquery;
        const child = this.#alias();
        const {parentField, childField} = c.related.correlation;
        const corr = childField.map((cf, i) => {
          const l = this.#column(child, sub.table, cf);
          const r = this.#column(alias, table, parentField[i] ?? '');
          return this.#compare('=', l, r);
        });
        const inner = `SELECT 1 FROM ${this.#catalog.loaded(sub.table).sqlName} AS ${child}${this.#tail(sub, child, sub.where, corr)}`;
        return `${c.op === 'EXISTS' ? '' : 'NOT '}EXISTS (${inner})`;
      }
      default:
        return unreachable(c);
    }
  }

  #simple(
    op: SimpleOperator,
    left: Typed,
    right: ValuePosition,
    alias: string,
    table: string,
  ): string {
    if (op === 'IN' || op === 'NOT IN') {
      if (right.kind !== 'literal' || !Array.isArray(right.value)) return 'FALSE';
      if (left.kind === 'null' || left.kind === 'json') return 'FALSE';
      const cast = castOf(left.kind);
      // Elements of another type can never match; NULLs stay (they make NOT IN false).
      const elems = right.value.filter(v => v === null || kindOf(v) === left.kind);
      const list = this.#param(JSON.stringify(elems));
      return `${left.sql} ${op} (SELECT e::${cast} FROM jsonb_array_elements_text(${list}::jsonb) AS t(e))`;
    }
    return this.#compare(op, left, this.#value(right, alias, table));
  }

  /** `l op r` for every operator but IN / NOT IN. */
  #compare(op: Exclude<SimpleOperator, 'IN' | 'NOT IN'>, l: Typed, r: Typed): string {
    if (op === 'IS' || op === 'IS NOT') {
      if (l.kind !== 'null' && r.kind !== 'null' && l.kind !== r.kind) {
        return op === 'IS' ? 'FALSE' : 'TRUE';
      }
      return `(${l.sql} IS ${op === 'IS' ? 'NOT ' : ''}DISTINCT FROM ${r.sql})`;
    }
    if (l.kind === 'null' || r.kind === 'null') return 'FALSE';
    if (op === 'LIKE' || op === 'NOT LIKE' || op === 'ILIKE' || op === 'NOT ILIKE') {
      return `(${l.sql})::text ${op} (${r.sql})::text`;
    }
    if (l.kind !== r.kind) {
      if (op === '=') return 'FALSE';
      if (op === '!=') return `(${l.sql} IS NOT NULL AND ${r.sql} IS NOT NULL)`;
      return 'FALSE';
    }
    if (l.kind === 'json' && op !== '=' && op !== '!=') return 'FALSE';
    const collate = l.kind === 'string' && op !== '=' && op !== '!=' ? ' COLLATE "C"' : '';
    return `${l.sql}${collate} ${op} ${r.sql}`;
  }

  /** Rows at or after (`exclusive`: strictly after) the bound, in the level's ordering. */
  #start(ast: AST, bound: Bound, alias: string): string {
    const cols = (ast.orderBy ?? []).filter(([c]) => Object.hasOwn(bound.row, c));
    const alternatives: string[] = [];
    const equal: string[] = [];
    for (const [col, dir] of cols) {
      const e = this.#column(alias, ast.table, col);
      const b = this.#literal(bound.row[col] ?? null);
      let after: string;
      if (b.kind === 'null') after = dir === 'asc' ? `${e.sql} IS NOT NULL` : 'FALSE';
      else if (dir === 'asc') after = this.#compare('>', e, b);
      else after = `(${this.#compare('<', e, b)} OR ${e.sql} IS NULL)`;
      alternatives.push([...equal, after].join(' AND '));
      equal.push(this.#compare('IS', e, b));
    }
    if (!bound.exclusive) alternatives.push(equal.length ? equal.join(' AND ') : 'TRUE');
    return alternatives.length ? `(${alternatives.map(a => `(${a})`).join(' OR ')})` : 'FALSE';
  }

  #value(v: ValuePosition, alias: string, table: string): Typed {
    return v.kind === 'column' ? this.#column(alias, table, v.name) : this.#literal(v.value);
  }

  #literal(value: LiteralValue): Typed {
    if (value === null) return {sql: 'NULL', kind: 'null', isColumn: false};
    if (Array.isArray(value)) {
      return {sql: `${this.#param(JSON.stringify(value))}::jsonb`, kind: 'json', isColumn: false};
    }
    const kind = kindOf(value);
    return {sql: `${this.#param(String(value))}::${castOf(kind)}`, kind, isColumn: false};
  }

  /** A column as a comparable value of its schema type (client name `col`). */
  #column(alias: string, table: string, col: string): Typed {
    const type = this.#tableSchema(table).columns[col]?.type;
    if (type === undefined)
      throw new ServerError('schema', `unknown column "${col}" in table "${table}"`);
    const pgCol = this.#pgColumn(table, col);
    const ref = this.#ref(alias, table, col);
    switch (type) {
      case 'string':
        return {
          sql: TEXT_TYPES.has(pgCol.typname) ? ref : `${ref}::text`,
          kind: 'string',
          isColumn: true,
        };
      case 'number':
        return {sql: readExpr(ref, pgCol), kind: 'number', isColumn: true};
      case 'boolean':
        return {sql: ref, kind: 'boolean', isColumn: true};
      default:
        return {sql: `to_jsonb(${ref})`, kind: 'json', isColumn: true};
    }
  }

  #ref(alias: string, table: string, col: string): string {
    const server = this.#tableSchema(table).columns[col]?.serverName ?? col;
    return `${alias}.${quoteIdent(server)}`;
  }

  #pgColumn(table: string, col: string) {
    const server = this.#tableSchema(table).columns[col]?.serverName ?? col;
    const pgCol = this.#catalog.loaded(table).columns.get(server);
    if (!pgCol)
      throw new ServerError(
        'schema',
        `column "${server}" of table "${table}" does not exist in the database`,
      );
    return pgCol;
  }

  #tableSchema(table: string) {
    const ts = this.#schema.tables[table];
    if (!ts) throw new ServerError('schema', `unknown table "${table}"`);
    return ts;
  }

  /** A text parameter (postgres.js would otherwise type it from the statement). */
  #param(v: string): string {
    this.params.push(v);
    return `$${this.params.length}::text`;
  }

  #alias(): string {
    return `t${this.#aliases++}`;
  }
}

function kindOf(v: LiteralValue): ValueKind {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

function castOf(kind: ValueKind): string {
  switch (kind) {
    case 'string':
      return 'text';
    case 'number':
      return 'float8';
    case 'boolean':
      return 'boolean';
    default:
      return 'jsonb';
  }
}

/** Every table an AST touches (client names), related and EXISTS subqueries included. */
export function tablesOf(ast: AST, out = new Set<string>()): Set<string> {
  out.add(ast.table);
  for (const r of ast.related ?? []) tablesOf(r.subquery, out);
  const walk = (c: Condition | undefined): void => {
    if (!c) return;
    if (c.kind === 'and' || c.kind === 'or') c.conditions.forEach(walk);
    else if (c.kind === 'exists') tablesOf(c.related.subquery, out);
  };
  walk(ast.where);
  return out;
}
