// The engine's pushed-down conditions as SQLite WHERE clauses, compiled by zql's SQL
// compiler (@zync/zql/sql) with the SQLite dialect. Where SQLite would disagree with the
// engine's JS predicates (json columns, ILIKE's Unicode case folding, a column as a LIKE
// pattern, …) the clause is left out and the fragment is marked inexact: the caller then
// also runs the JS predicate. An inexact fragment is always implied by the condition (a
// superset of rows).
import type {Condition} from '@zync/protocol';
import type {ValueKind} from '../replica/pg-types.ts';
import {parseLikePattern} from '@zync/zql/ivm';
import {compileCondition, sqliteDialect, tokensToGlob, type SqlParam} from '@zync/zql/sql';
import {quoteIdent} from '@zync/shared';

export type {SqlParam};

export type SqlFragment = {
  readonly sql: string;
  readonly params: readonly SqlParam[];
  /** False when rows matching `sql` must still be checked by the JS predicate. */
  readonly exact: boolean;
};

export type ColumnKinds = Readonly<Record<string, ValueKind>>;

/** Whether a JS value has the type the column's values have once converted. */
export function matchesKind(kind: ValueKind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return false;
  }
}

/** The stored form of a JS value (booleans are stored as 0/1). */
export function toParam(v: string | number | boolean | null): SqlParam {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/**
 * Strings compare by UTF-16 code unit in JS and by code point (UTF-8 bytes) in SQLite.
 * The two orders agree against any string whose characters are all below U+D800.
 */
export function isOrderSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return false;
  return true;
}

/** Translates a LIKE pattern (`%`, `_`, `\` escape) into a case-sensitive GLOB pattern. */
export function likeToGlob(pattern: string): string {
  return tokensToGlob(parseLikePattern(pattern, false));
}

/** Compiles a condition without EXISTS. `undefined` compiles to TRUE. */
export function compileFilter(cond: Condition | undefined, kinds: ColumnKinds): SqlFragment {
  const f = compileCondition(cond, {
    dialect: sqliteDialect,
    column: name => {
      const kind = kinds[name];
      return kind === undefined ? undefined : {sql: quoteIdent(name), kind};
    },
  });
  return {sql: f.sql, params: f.params, exact: f.exact};
}
