// JSON values of the wire ↔ Postgres parameters and result rows. Writes: epoch-ms numbers
// to timestamp/date columns become UTC timestamps, arrays to array columns Postgres arrays,
// anything to json/jsonb columns JSON text. Reads (rows checked by permission rules) come
// back in the shape clients see: times as epoch ms, int8/numeric as numbers.
import {createRequire} from 'node:module';
import {escapeLiteral} from 'pg';
import type {ReadonlyJSONValue} from '@zync/shared';
import {isArrayType, isTimeType, kindOfType} from '../replica/pg-types.ts';
import {copySelectExpr} from '../replica/values.ts';
import type {PgColumn, PgTable} from './pg-catalog.ts';
import {MutationFailure} from './push-failure.ts';
import {quoteIdent} from '@zync/shared';

export {quoteIdent};

function invalid(table: PgTable, col: PgColumn, need: string): MutationFailure {
  return new MutationFailure(
    'invalid-value',
    `the value for column ${col.name} of table ${table.name} must be ${need}`,
  );
}

/** The query parameter for one written value (validated against the column's type). */
export function toPgParam(table: PgTable, col: PgColumn, value: ReadonlyJSONValue): unknown {
  if (value === null) return null;
  const t = col.pgType;
  if (t === 'json' || t === 'jsonb') return JSON.stringify(value);
  if (isArrayType(t)) {
    if (!Array.isArray(value)) throw invalid(table, col, 'an array');
    const items = value as readonly ReadonlyJSONValue[];
    // node-postgres turns a JS array into an array literal; nested objects go as JSON.
    return items.map((v): unknown => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v));
  }
  if (isTimeType(t)) {
    if (typeof value === 'string') return value;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(table, col, 'epoch milliseconds');
    }
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw invalid(table, col, 'epoch milliseconds');
    const iso = d.toISOString();
    return t === 'date' ? iso.slice(0, 10) : iso;
  }
  if (typeof value === 'object') throw invalid(table, col, 'a scalar');
  switch (kindOfType(t)) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(table, col, 'a boolean');
      return value;
    case 'number':
      if (typeof value !== 'number' && typeof value !== 'string') {
        throw invalid(table, col, 'a number');
      }
      return value;
    default:
      return value;
  }
}

// node-postgres's own conversion of a query parameter to the text it sends: a literal built
// from it is read by Postgres exactly as that parameter would be.
const {prepareValue} = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => unknown;
};

/**
 * A `toPgParam` value as an SQL literal of unknown type (Postgres resolves it from the
 * context, as it does an untyped parameter), for statements batched into one simple query.
 * Undefined when the value cannot be written as text (binary data, a NUL character).
 */
export function sqlLiteral(param: unknown): string | undefined {
  const text = prepareValue(param);
  if (text === null || text === undefined) return 'NULL';
  if (typeof text !== 'string' || text.includes('\u0000')) return undefined;
  return escapeLiteral(text);
}

/** `SELECT` list giving each column in the client's shape (times as epoch ms). */
export function selectList(table: PgTable): string {
  return [...table.columns.values()]
    .map(c => `${copySelectExpr(quoteIdent(c.name), c.pgType)} AS ${quoteIdent(c.name)}`)
    .join(', ');
}

/** Converts a row read with `selectList` to JSON values. */
export function fromPgRow(
  table: PgTable,
  row: Readonly<Record<string, unknown>>,
): Record<string, ReadonlyJSONValue> {
  const out: Record<string, ReadonlyJSONValue> = {};
  for (const col of table.columns.values()) {
    const v = row[col.name];
    if (v === null || v === undefined) {
      out[col.name] = null;
    } else if (kindOfType(col.pgType) === 'number' && !isArrayType(col.pgType)) {
      out[col.name] = Number(v);
    } else if (v instanceof Date) {
      out[col.name] = v.getTime();
    } else {
      out[col.name] = v as ReadonlyJSONValue;
    }
  }
  return out;
}
