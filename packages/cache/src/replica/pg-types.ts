// How upstream Postgres types map onto SQLite storage. Their JSON kinds are @zync/pg's,
// shared with the write paths.
import {kindOfType} from '@zync/pg';

export {isArrayType, isTimeType, kindOfType} from '@zync/pg';
export type {ValueKind} from '@zync/pg';

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'oid']);

/** The declared SQLite column type (it only sets the column's affinity). */
export function sqliteTypeOf(pgType: string): string {
  if (INTEGER_TYPES.has(pgType) || pgType === 'bool') return 'INTEGER';
  if (kindOfType(pgType) === 'number') return 'REAL';
  return 'TEXT';
}

/** Type names by OID, loaded from the upstream catalog (domains resolved to their base). */
export type TypeNames = Map<number, string>;

export const TYPE_NAMES_QUERY = `
  SELECT t.oid::int AS oid,
         CASE WHEN t.typtype = 'd' THEN b.typname ELSE t.typname END AS name
  FROM pg_type t LEFT JOIN pg_type b ON b.oid = t.typbasetype`;
