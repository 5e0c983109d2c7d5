// Values between the app's JSON and Postgres, the same for every driver.
//
// Writes: every value is sent as a text parameter (or NULL) and cast in SQL to the column's
// type, so node-postgres and postgres.js read it alike (postgres.js would otherwise type a
// parameter from the statement and, say, JSON-encode a string bound to jsonb). Epoch-ms
// numbers into timestamp/timestamptz/date are that instant in UTC (a date: its UTC day);
// a JSON array into an array column is a Postgres array (object elements as their JSON
// text); json/jsonb take any JSON value. A value of the wrong shape is refused before any
// SQL is sent, with a PgLayerError of kind 'invalid-value'.
//
// Reads: `readExpr` selects a column as the client sees it (times as epoch ms, int8 and
// numeric as float8 numbers, arrays as JSON).
import type {ReadonlyJSONValue} from '@zync/shared';
import {quoteIdent} from '@zync/shared';
import type {PgColumn, PgTable} from './catalog.ts';
import {PgLayerError} from './errors.ts';
import {isArrayType, isTimeType, kindOfType} from './pg-types.ts';
import {raw, sql, type Sql} from './sql.ts';

function invalid(table: PgTable, col: PgColumn, need: string): PgLayerError {
  return new PgLayerError(
    'invalid-value',
    `the value for column ${col.name} of table ${table.name} must be ${need}`,
    need,
  );
}

/** The SQL expression (with its parameter) that writes `value` into column `col`. */
export function writeExpr(table: PgTable, col: PgColumn, value: unknown): Sql {
  if (value === null || value === undefined) return sql`NULL`;
  const t = col.typname;
  const type = raw(col.sqlType);
  if (t === 'json' || t === 'jsonb') return sql`${JSON.stringify(value)}::text::${type}`;
  if (isArrayType(t)) {
    if (!Array.isArray(value)) throw invalid(table, col, 'an array');
    return sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(value)}::text::jsonb))::${type}`;
  }
  if (isTimeType(t) && typeof value !== 'string') {
    // Finite and within the range of a JavaScript Date, as the client's values are.
    if (typeof value !== 'number' || Number.isNaN(new Date(value).getTime())) {
      throw invalid(table, col, 'epoch milliseconds');
    }
    const instant = sql`to_timestamp(${String(value)}::text::float8 / 1000)`;
    if (t === 'timestamptz') return instant;
    if (t === 'timestamp') return sql`(${instant} AT TIME ZONE 'UTC')`;
    return sql`(${instant} AT TIME ZONE 'UTC')::date`;
  }
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      break;
    default:
      throw invalid(table, col, 'a scalar');
  }
  const kind = kindOfType(t);
  if (kind === 'boolean' && typeof value !== 'boolean') throw invalid(table, col, 'a boolean');
  if (kind === 'number' && typeof value === 'boolean') throw invalid(table, col, 'a number');
  return sql`${String(value)}::text::${type}`;
}

/** The SQL expression that reads `ref` (a column reference) as the client's JSON value. */
export function readExpr(ref: string, col: PgColumn | undefined): string {
  if (!col) return ref;
  const t = col.typname;
  if (isArrayType(t)) return `to_jsonb(${ref})`;
  // A date is read as the timestamp of its midnight: no time zone takes part.
  if (t === 'date') return `(EXTRACT(EPOCH FROM ${ref}::timestamp) * 1000)::float8`;
  if (isTimeType(t)) return `(EXTRACT(EPOCH FROM ${ref}) * 1000)::float8`;
  if (t === 'int8' || t === 'numeric') return `${ref}::float8`;
  return ref;
}

/** `SELECT` list giving every column of the table in the client's shape, under its name. */
export function selectList(table: PgTable): string {
  return [...table.columns.values()]
    .map(c => `${readExpr(quoteIdent(c.name), c)} AS ${quoteIdent(c.name)}`)
    .join(', ');
}

/** A row read with `selectList`, as JSON values (a driver's numeric strings as numbers). */
export function fromPgRow(
  table: PgTable,
  row: Readonly<Record<string, unknown>>,
): Record<string, ReadonlyJSONValue> {
  const out: Record<string, ReadonlyJSONValue> = {};
  for (const col of table.columns.values()) {
    const v = row[col.name];
    if (v === null || v === undefined) out[col.name] = null;
    else if (kindOfType(col.typname) === 'number') out[col.name] = Number(v);
    else out[col.name] = v as ReadonlyJSONValue;
  }
  return out;
}
