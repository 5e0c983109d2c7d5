// Runs a query AST (client names) on Postgres inside a transaction as ONE statement
// (compile-query.ts): related subqueries come back as nested JSON arrays, decoded here into
// the values the client's views hold. Returns rows in client names with relationships
// under their aliases (`one` → row | undefined; a hidden junction level is replaced by its
// children).
import type {AST, CorrelatedSubquery} from '@zync/protocol';
import type {Schema} from '@zync/zql';
import type {DBTransaction, Row} from './db.ts';
import {compileQuery, tablesOf} from './compile-query.ts';
import type {SchemaCatalog} from './schema-catalog.ts';

export async function runQuery(
  tx: DBTransaction<unknown>,
  catalog: SchemaCatalog,
  ast: AST,
): Promise<Row[] | Row | undefined> {
  await catalog.tables(tx, tablesOf(ast));
  const {sql, params} = compileQuery(catalog, ast);
  const rows = (await tx.query(sql, params)).map(r => decodeRow(catalog.schema, ast, r));
  return ast.one ? rows[0] : rows;
}

/** A row of `ast`'s table: numbers and relationships back to the client's values. */
function decodeRow(schema: Schema, ast: AST, raw: Readonly<Record<string, unknown>>): Row {
  const columns = schema.tables[ast.table]?.columns ?? {};
  const out: Row = {};
  for (const [name, col] of Object.entries(columns)) {
    const v = raw[name] ?? null;
    // JSON cannot hold Infinity / NaN (timestamps ±infinity): Postgres sends them as text.
    out[name] = col.type === 'number' && typeof v === 'string' ? Number(v) : v;
  }
  for (const r of ast.related ?? []) {
    let children = decodeArray(schema, r, raw[relationName(r)]);
    if (r.hidden) children = flatten(children, r.subquery);
    out[relationName(r)] = r.subquery.one ? children[0] : children;
  }
  return out;
}

function decodeArray(schema: Schema, r: CorrelatedSubquery, v: unknown): Row[] {
  // Drivers parse json results; a DBTransaction of the app's own may hand over the text.
  const list: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  if (!Array.isArray(list)) return [];
  return list.map(child => decodeRow(schema, r.subquery, child as Record<string, unknown>));
}

function relationName(r: CorrelatedSubquery): string {
  return r.subquery.alias ?? r.subquery.table;
}

/** A hidden (junction) level is replaced by its children. */
function flatten(junctionRows: readonly Row[], junction: AST): Row[] {
  const out: Row[] = [];
  for (const j of junctionRows) {
    for (const inner of junction.related ?? []) {
      const v = j[relationName(inner)];
      if (Array.isArray(v)) out.push(...(v as Row[]));
      else if (v !== undefined) out.push(v as Row);
    }
  }
  return out;
}
