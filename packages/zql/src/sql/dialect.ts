// What differs between SQLite and Postgres when ZQL becomes SQL: parameters, booleans,
// NULL-safe equality, string order, IN lists, LIKE / ILIKE, ORDER BY, JSON aggregation.
// The compiler (condition.ts, select.ts) asks the dialect and never writes such SQL itself.
import {LIKE_ANY, LIKE_ONE, parseLikePattern} from '../ivm/like.ts';
import {foldTranslation} from './fold.ts';
import {
  frag,
  PARAM,
  type SqlColumn,
  type SqlFragment,
  type SqlParam,
  type ValueKind,
} from './fragment.ts';
import {MAX_GLOB_BYTES, tokensToGlob, tokensToPgLike, utf8Length} from './like-sql.ts';

export type Scalar = string | number | boolean;
export type OrderOp = '<' | '<=' | '>' | '>=';

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  readonly true: string;
  readonly false: string;
  /** A scalar literal of the column's type as a placeholder plus its parameter. */
  param(v: Scalar): {readonly sql: string; readonly param: SqlParam};
  /** NULL-safe equality (`NULL IS NULL` is true). */
  same(a: string, b: string): string;
  notSame(a: string, b: string): string;
  /** `a op b` for two values of `kind`; strings compare by code point. */
  ordered(a: SqlColumn, op: OrderOp | '=' | '!=', b: string): string;
  /** `col IN (values)` (or NOT IN); `values` are non-null, of the column's type, non-empty. */
  inList(col: SqlColumn, values: readonly Scalar[], negate: boolean): SqlFragment;
  /**
   * `col LIKE pattern` (engine syntax) on a string column, or ILIKE with `caseInsensitive`.
   * The pattern's literal characters are all storable (the compiler handles the others).
   */
  like(col: string, pattern: string, caseInsensitive: boolean, negate: boolean): SqlFragment;
  /** `col IS NULL` for a json column, or undefined when SQL cannot tell JSON null apart. */
  jsonIsNull(col: string): string | undefined;
  /** One ORDER BY term; NULL first ascending, last descending, strings by code point. */
  orderTerm(col: SqlColumn, dir: 'asc' | 'desc'): string;
  /** A JSON object of `pairs` (key, SQL expression read as JSON). */
  jsonObject(pairs: readonly (readonly [string, string])[]): string;
  /** The JSON array of column `r` of the rows of the SELECT `from`, in the order of its `n`. */
  jsonArray(from: string): string;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  true: '1',
  false: '0',
  param: v => ({sql: '?', param: typeof v === 'boolean' ? (v ? 1 : 0) : v}),
  same: (a, b) => `${a} IS ${b}`,
  notSame: (a, b) => `${a} IS NOT ${b}`,
  // BINARY collation on UTF-8 text is code point order.
  ordered: (a, op, b) => `${a.sql} ${op} ${b}`,
  inList(col, values, negate) {
    const params = values.map(v => sqliteDialect.param(v).param);
    const marks = values.map(() => '?').join(', ');
    return frag(`${col.sql} ${negate ? 'NOT IN' : 'IN'} (${marks})`, params);
  },
  like(col, pattern, caseInsensitive, negate) {
    if (caseInsensitive) {
      // SQLite's LIKE folds ASCII only (and `ſ` ILIKE 's', KELVIN SIGN ILIKE 'k' match in
      // the engine): SQL could drop matching rows, the JS predicate decides.
      return {sql: '1', params: [], exact: false, why: 'ILIKE (Unicode case folding)'};
    }
    const glob = tokensToGlob(parseLikePattern(pattern, false));
    if (utf8Length(glob) > MAX_GLOB_BYTES) {
      return {sql: '1', params: [], exact: false, why: 'LIKE pattern over SQLite length limit'};
    }
    // GLOB compares code points case-sensitively like LIKE, `?` is one code point like `_`,
    // and SQLite's matcher gives up on a failed suffix instead of retrying it, so it is not
    // exponential either.
    return frag(`${col} ${negate ? 'NOT GLOB' : 'GLOB'} ?`, [glob]);
  },
  jsonIsNull: () => undefined,
  orderTerm: (col, dir) => `${col.sql} ${dir === 'asc' ? 'ASC' : 'DESC'}`,
  jsonObject: pairs => `json_object(${pairs.map(([k, v]) => `${keyLiteral(k)}, ${v}`).join(', ')})`,
  jsonArray: from =>
    `(SELECT json_group_array(json(s.r)) FROM (SELECT r FROM (${from}) ORDER BY n) AS s)`,
};

const PG_CAST: Record<'string' | 'number' | 'boolean', string> = {
  string: 'text',
  number: 'float8',
  boolean: 'boolean',
};

function castOf(v: Scalar): string {
  return PG_CAST[typeof v as 'string' | 'number' | 'boolean'];
}

/** Strings compare by code point in Postgres only under the C collation. */
function pgOrdered(col: SqlColumn): string {
  return col.kind === 'string' ? `(${col.sql}) COLLATE "C"` : col.sql;
}

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  true: 'TRUE',
  false: 'FALSE',
  // Every parameter is sent as text and cast in SQL, so pg and postgres.js behave the same.
  param: v => ({sql: `${PARAM}::${castOf(v)}`, param: String(v)}),
  same: (a, b) => `${a} IS NOT DISTINCT FROM ${b}`,
  notSame: (a, b) => `${a} IS DISTINCT FROM ${b}`,
  ordered: (a, op, b) =>
    op === '=' || op === '!=' ? `${a.sql} ${op} ${b}` : `${pgOrdered(a)} ${op} ${b}`,
  inList(col, values, negate) {
    const cast = castOf(values[0] as Scalar);
    return frag(
      `${col.sql} ${negate ? 'NOT IN' : 'IN'} (SELECT e::${cast} FROM jsonb_array_elements_text(${PARAM}::jsonb) AS t(e))`,
      [JSON.stringify(values)],
    );
  },
  like(col, pattern, caseInsensitive, negate) {
    const tokens = parseLikePattern(pattern, caseInsensitive);
    const op = negate ? 'NOT LIKE' : 'LIKE';
    if (!caseInsensitive) return frag(`${col} ${op} ${PARAM}`, [tokensToPgLike(tokens)]);
    const {from, to} = foldTranslation(tokens.filter(t => t !== LIKE_ANY && t !== LIKE_ONE));
    const pat = tokensToPgLike(tokens);
    if (from === '') return frag(`${col} ${op} ${PARAM}`, [pat]);
    return frag(`translate(${col}, ${PARAM}, ${PARAM}) ${op} ${PARAM}`, [from, to, pat]);
  },
  jsonIsNull: col => `(${col} IS NULL OR jsonb_typeof(${col}) = 'null')`,
  orderTerm: (col, dir) =>
    `${pgOrdered(col)} ${dir === 'asc' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST'}`,
  jsonObject: pairs =>
    // json_build_object takes at most 100 arguments: wide rows are built in parts.
    chunks(pairs, 50)
      .map(c => `jsonb_build_object(${c.map(([k, v]) => `${keyLiteral(k)}, ${v}`).join(', ')})`)
      .join(' || '),
  jsonArray: from =>
    `(SELECT COALESCE(json_agg(s.r ORDER BY s.n), '[]'::json) FROM (${from}) AS s)`,
};

/** A JSON key as an SQL string literal (names come from the app's schema). */
function keyLiteral(key: string): string {
  if (key.includes('\0')) throw new TypeError('a column or relationship name cannot hold NUL');
  return `'${key.replace(/'/g, "''")}'`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out.length ? out : [[]];
}

const PG_TEXT_TYPES = new Set(['text', 'varchar']);
const PG_TIME_TYPES = new Set(['timestamp', 'timestamptz', 'date']);

/**
 * A Postgres column (`ref`, of type `typname` as in `pg_type`, domains resolved) as a
 * comparable value of ZQL type `kind`, in the form clients see it: times as epoch ms,
 * int8 / numeric as float8, real through its text form (as drivers read it), other string
 * types as text, arrays and json as jsonb.
 */
export function postgresColumn(ref: string, typname: string, kind: ValueKind): SqlColumn {
  if (typname.startsWith('_')) return {sql: `to_jsonb(${ref})`, kind: 'json'};
  switch (kind) {
    case 'number':
      if (typname === 'date') {
        return {sql: `(EXTRACT(EPOCH FROM ${ref}::timestamp) * 1000)::float8`, kind};
      }
      if (PG_TIME_TYPES.has(typname)) {
        return {sql: `(EXTRACT(EPOCH FROM ${ref}) * 1000)::float8`, kind};
      }
      if (typname === 'float4') return {sql: `${ref}::text::float8`, kind};
      if (typname === 'int8' || typname === 'numeric') return {sql: `${ref}::float8`, kind};
      return {sql: ref, kind};
    case 'string':
      return {sql: PG_TEXT_TYPES.has(typname) ? ref : `${ref}::text`, kind};
    case 'boolean':
      return {sql: ref, kind};
    default:
      return {sql: `to_jsonb(${ref})`, kind: 'json'};
  }
}
