// Compiles a query AST (client names) to ONE Postgres SELECT with zql's SQL compiler
// (@zync/zql/sql, Postgres dialect): the root level's rows, related subqueries as nested
// JSON arrays, EXISTS as correlated subqueries. This file only describes the app's tables
// to the compiler: client → server names, and each column as the client sees its values
// (times as epoch ms, int8/numeric as float8, arrays and json as JSON).
import type {AST, Condition} from '@zync/protocol';
import type {ValueType} from '@zync/zql';
import {
  compileQuery as compileSql,
  numberParams,
  postgresColumn,
  postgresDialect,
  type SqlTable,
} from '@zync/zql/sql';
import {quoteIdent, readExpr, type PgColumn} from '@zync/pg';
import type {SchemaCatalog} from './schema-catalog.ts';
import {ServerError} from './errors.ts';

export type CompiledQuery = {readonly sql: string; readonly params: readonly unknown[]};

/** The one statement that reads `ast`; refuses what Postgres cannot compute exactly. */
export function compileQuery(catalog: SchemaCatalog, ast: AST): CompiledQuery {
  const tables = new Map<string, SqlTable>();
  const f = compileSql(ast, {
    dialect: postgresDialect,
    table: name => {
      let t = tables.get(name);
      if (!t) tables.set(name, (t = describe(catalog, name)));
      return t;
    },
  });
  if (!f.exact) {
    throw new ServerError(
      'query',
      `this query cannot be read from Postgres exactly as clients evaluate it: ${f.why ?? 'unsupported condition'}; ` +
        'compare such values in the mutator instead',
    );
  }
  return {sql: numberParams(f.sql), params: f.params};
}

function describe(catalog: SchemaCatalog, table: string): SqlTable {
  const ts = catalog.schema.tables[table];
  if (!ts) throw new ServerError('schema', `unknown table "${table}"`);
  const pg = catalog.loaded(table);
  const pgColumn = (
    col: string,
  ): {ref: (alias: string) => string; pg: PgColumn; type: ValueType} => {
    const c = ts.columns[col];
    if (c === undefined)
      throw new ServerError('schema', `unknown column "${col}" in table "${table}"`);
    const server = c.serverName ?? col;
    const pgCol = pg.columns.get(server);
    if (!pgCol) {
      throw new ServerError(
        'schema',
        `column "${server}" of table "${table}" does not exist in the database`,
      );
    }
    return {ref: alias => `${alias}.${quoteIdent(server)}`, pg: pgCol, type: c.type};
  };
  return {
    from: pg.sqlName,
    primaryKey: ts.primaryKey,
    columns: Object.keys(ts.columns),
    column(alias, name) {
      const {ref, pg: pgCol, type} = pgColumn(name);
      return postgresColumn(ref(alias), pgCol.typname, type === 'null' ? 'json' : type);
    },
    read(alias, name) {
      const {ref, pg: pgCol} = pgColumn(name);
      return readExpr(ref(alias), pgCol);
    },
    // JSON has no Infinity / NaN: Postgres writes such numbers as strings, which
    // run-query.ts decodes back.
    readJson(alias, name) {
      const {ref, pg: pgCol} = pgColumn(name);
      return readExpr(ref(alias), pgCol);
    },
  };
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
