// CRUD mutations in the two namings: the ops sent to the server (server table and column
// names) and the rows they write locally (client names).
import type {CrudOp} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '@zync/zql';
import type {Row, Value} from '@zync/zql/ivm';

export type CrudKind = CrudOp['op'];

/** A CRUD op in the server's names, as pushed (undefined values, and a delete's non-key columns, left out). */
export function toServerOp(
  schema: Schema,
  table: string,
  op: CrudKind,
  value: Record<string, unknown>,
): CrudOp {
  const t = schema.tables[table];
  if (!t) throw new TypeError(`Unknown table ${table}`);
  const out: Record<string, ReadonlyJSONValue> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const spec = t.columns[k];
    if (!spec) throw new TypeError(`${op} on ${table}: unknown column ${k}`);
    if (op === 'delete' && !t.primaryKey.includes(k)) continue;
    out[spec.serverName ?? k] = v as ReadonlyJSONValue;
  }
  return {op, table: t.serverName ?? table, value: out};
}

/** The client table of a server table name. */
export function clientTable(schema: Schema, serverTable: string): string {
  for (const [name, t] of Object.entries(schema.tables)) {
    if ((t.serverName ?? name) === serverTable) return name;
  }
  throw new TypeError(`Unknown server table ${serverTable}`);
}

/** The client-named row of a pushed CRUD op's value (columns it lacks are left out). */
export function crudClientRow(
  schema: Schema,
  table: string,
  value: Readonly<Record<string, ReadonlyJSONValue>>,
): Row {
  const t = schema.tables[table]!;
  const row: Record<string, Value> = {};
  for (const [col, spec] of Object.entries(t.columns)) {
    const v = value[spec.serverName ?? col];
    if (v !== undefined) row[col] = v as Value;
  }
  return row;
}

/** The row without its undefined values. */
export function definedOnly(value: Row): Row {
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out;
}
