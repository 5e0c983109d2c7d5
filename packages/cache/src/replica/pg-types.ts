// How upstream Postgres types map onto JSON values and SQLite storage.

export type ValueKind = 'string' | 'number' | 'boolean' | 'json';

/** Everything the replicator needs to know about one upstream column type. */
export interface ColumnType {
  /** Upstream type name (`int8`, `timestamptz`, `_text` for text[], an enum's name, ...). */
  readonly pgType: string;
  readonly kind: ValueKind;
}

const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'oid']);
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'oid']);
const TIME_TYPES = new Set(['timestamp', 'timestamptz', 'date']);

export function isArrayType(pgType: string): boolean {
  return pgType.startsWith('_');
}

export function isTimeType(pgType: string): boolean {
  return TIME_TYPES.has(pgType);
}

export function kindOfType(pgType: string): ValueKind {
  if (isArrayType(pgType) || pgType === 'json' || pgType === 'jsonb') return 'json';
  if (pgType === 'bool') return 'boolean';
  if (NUMBER_TYPES.has(pgType) || TIME_TYPES.has(pgType)) return 'number';
  return 'string';
}

/** The declared SQLite column type (it only sets the column's affinity). */
export function sqliteTypeOf(pgType: string): string {
  if (INTEGER_TYPES.has(pgType) || pgType === 'bool') return 'INTEGER';
  if (NUMBER_TYPES.has(pgType) || TIME_TYPES.has(pgType)) return 'REAL';
  return 'TEXT';
}

/** Type names by OID, loaded from the upstream catalog (domains resolved to their base). */
export type TypeNames = Map<number, string>;

export const TYPE_NAMES_QUERY = `
  SELECT t.oid::int AS oid,
         CASE WHEN t.typtype = 'd' THEN b.typname ELSE t.typname END AS name
  FROM pg_type t LEFT JOIN pg_type b ON b.oid = t.typbasetype`;
