// What a Postgres column type is as a JSON value: the one classification that the replica,
// zero-cache's writes and the API server's reads and writes share. Types are named as in
// `pg_type.typname` with domains resolved to their base type (`int8`, `timestamptz`,
// `_text` for text[], an enum's own name).

export type ValueKind = 'string' | 'number' | 'boolean' | 'json';

const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'oid']);
const TIME_TYPES = new Set(['timestamp', 'timestamptz', 'date']);

export function isArrayType(pgType: string): boolean {
  return pgType.startsWith('_');
}

/** timestamp, timestamptz and date: epoch milliseconds as JSON. */
export function isTimeType(pgType: string): boolean {
  return TIME_TYPES.has(pgType);
}

export function kindOfType(pgType: string): ValueKind {
  if (isArrayType(pgType) || pgType === 'json' || pgType === 'jsonb') return 'json';
  if (pgType === 'bool') return 'boolean';
  if (NUMBER_TYPES.has(pgType) || TIME_TYPES.has(pgType)) return 'number';
  return 'string';
}
