// The pieces the SQL compiler works with: a column as SQL plus the ZQL type of its values,
// and SQL fragments that carry their parameters and whether they are exact.

/** The ZQL type of a column's values (json: any JSON value). */
export type ValueKind = 'string' | 'number' | 'boolean' | 'json';

/** A value position in SQL: a column reference (or expression) and the type of its values. */
export type SqlColumn = {readonly sql: string; readonly kind: ValueKind};

/** A bound parameter: SQLite binds numbers and strings, Postgres receives text. */
export type SqlParam = string | number | null;

export type SqlFragment = {
  /** Parameters are written as the dialect's placeholder (Postgres: `PARAM`, see `render`). */
  readonly sql: string;
  readonly params: readonly SqlParam[];
  /**
   * True when the fragment selects exactly the rows the engine's predicate selects. False:
   * it selects a superset (the parts SQL cannot decide are TRUE), the JS predicate decides.
   */
  readonly exact: boolean;
  /** Why the fragment is inexact (operator and column, never a value). */
  readonly why?: string | undefined;
};

/**
 * Marks a parameter in Postgres fragments until the statement is complete and numbered.
 * NUL can never be part of an identifier (quoteIdent refuses it) nor of generated SQL.
 */
export const PARAM = '\u0000';

export function frag(sql: string, params: readonly SqlParam[] = []): SqlFragment {
  return {sql, params, exact: true};
}

/** Joins fragments with `glue`; the result is exact when every part is. */
export function joinFragments(parts: readonly SqlFragment[], glue: string): SqlFragment {
  const inexact = parts.find(p => !p.exact);
  return {
    sql: parts.map(p => `(${p.sql})`).join(glue),
    params: parts.flatMap(p => p.params),
    exact: inexact === undefined,
    why: inexact?.why,
  };
}

/** Numbers the `PARAM` marks of a Postgres statement `$1::text, $2::text, …`. */
export function numberParams(sql: string, first = 1): string {
  let n = first;
  let out = '';
  let from = 0;
  for (let i = sql.indexOf(PARAM); i >= 0; i = sql.indexOf(PARAM, from)) {
    out += sql.slice(from, i) + `$${n++}::text`;
    from = i + 1;
  }
  return out + sql.slice(from);
}

/** With the `u` flag a surrogate pair is one code point, so this finds only lone halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Whether a string can be a stored value: text in Postgres (and so in the replica, which
 * copies it) never holds NUL nor a lone surrogate. A literal that does equals no value.
 */
export function isStorable(s: string): boolean {
  return !s.includes('\0') && !LONE_SURROGATE.test(s);
}

/** Whether `cp` (from a parsed LIKE pattern) can be a character of a stored value. */
export function isStorableCodePoint(cp: number): boolean {
  return cp !== 0 && (cp < 0xd800 || cp > 0xdfff);
}
