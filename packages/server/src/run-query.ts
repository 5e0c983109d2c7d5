// Runs a query AST (client names) on Postgres inside a transaction: one SELECT per level,
// then each related subquery per parent row. Returns rows in client names with
// relationships under their aliases, shaped like the client's views (`one` → row|undefined).
import type {AST, Condition, CorrelatedSubquery, LiteralValue} from '@zync/protocol';
import type {DBTransaction, Row} from './db.ts';
import {QueryCompiler, tablesOf} from './compile-query.ts';
import type {SchemaCatalog as PgCatalog} from './schema-catalog.ts';

export async function runQuery(
  tx: DBTransaction<unknown>,
  catalog: PgCatalog,
  ast: AST,
): Promise<Row[] | Row | undefined> {
  await catalog.tables(tx, tablesOf(ast));
  const rows = await runLevel(tx, catalog, ast, undefined);
  return ast.one ? rows[0] : rows;
}

async function runLevel(
  tx: DBTransaction<unknown>,
  catalog: PgCatalog,
  ast: AST,
  extra: Condition | undefined,
): Promise<Row[]> {
  const compiler = new QueryCompiler(catalog);
  const sql = compiler.select(ast, extra);
  const rows = await tx.query(sql, compiler.params);
  if (!ast.related?.length) return rows;
  const out: Row[] = [];
  for (const row of rows) {
    const result: Row = {...row};
    for (const r of ast.related) {
      let children = await runRelated(tx, catalog, r, row);
      if (r.hidden) children = flatten(children, r.subquery);
      result[r.subquery.alias ?? r.subquery.table] = r.subquery.one ? children[0] : children;
    }
    out.push(result);
  }
  return out;
}

function runRelated(
  tx: DBTransaction<unknown>,
  catalog: PgCatalog,
  r: CorrelatedSubquery,
  parent: Row,
): Promise<Row[]> {
  const {parentField, childField} = r.correlation;
  const conditions: Condition[] = [];
  for (const [i, cf] of childField.entries()) {
    const v = parent[parentField[i] ?? ''];
    // NULL never joins; json values are not join keys.
    if (v === null || v === undefined || typeof v === 'object') return Promise.resolve([]);
    conditions.push({
      kind: 'simple',
      op: '=',
      left: {kind: 'column', name: cf},
      right: {kind: 'literal', value: v as LiteralValue},
    });
  }
  return runLevel(tx, catalog, r.subquery, {kind: 'and', conditions});
}

/** A hidden (junction) level is replaced by its children. */
function flatten(junctionRows: readonly Row[], junction: AST): Row[] {
  const out: Row[] = [];
  for (const j of junctionRows) {
    for (const inner of junction.related ?? []) {
      const v = j[inner.subquery.alias ?? inner.subquery.table];
      if (Array.isArray(v)) out.push(...(v as Row[]));
      else if (v !== undefined) out.push(v as Row);
    }
  }
  return out;
}
