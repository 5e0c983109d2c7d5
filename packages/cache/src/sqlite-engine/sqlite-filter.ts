// Compiles the engine's pushed-down conditions into SQLite WHERE clauses with the same
// meaning as the engine's JS predicates (zql/src/ivm/condition.ts). Where SQLite would
// disagree (type affinity, ASCII-only case folding, UTF-8 vs UTF-16 string order) the
// clause is left out and the fragment is marked inexact: the caller then also runs the JS
// predicate. An inexact fragment is always implied by the condition (a superset of rows).
import type {Condition, SimpleCondition} from '@zync/protocol';
import type {ValueKind} from '../replica/pg-types.ts';
import {evalSimple} from '@zync/zql/ivm';
import {quoteIdent} from '@zync/shared';

export type SqlParam = string | number | null;

export type SqlFragment = {
  readonly sql: string;
  readonly params: readonly SqlParam[];
  /** False when rows matching `sql` must still be checked by the JS predicate. */
  readonly exact: boolean;
};

export type ColumnKinds = Readonly<Record<string, ValueKind>>;

const TRUE: SqlFragment = {sql: '1', params: [], exact: true};
const FALSE: SqlFragment = {sql: '0', params: [], exact: true};
/** Not expressible: every row passes SQL, the JS predicate decides. */
const UNKNOWN: SqlFragment = {sql: '1', params: [], exact: false};

export {quoteIdent};

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

function typeRank(kind: ValueKind): number {
  switch (kind) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return 0;
  }
}

function kindOfLiteral(v: string | number | boolean): ValueKind {
  return typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : 'boolean';
}

/** SQLite refuses LIKE / GLOB patterns longer than this many bytes (its default limit). */
const MAX_GLOB_BYTES = 50_000;
/** With the `u` flag a surrogate pair is one code point, so this finds only lone halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Whether SQLite's GLOB gives exactly the engine's LIKE result (zql's like.ts) for this
 * pattern. GLOB compares code points case-sensitively like LIKE, `?` is one code point like
 * `_`, and SQLite's matcher gives up on a failed suffix instead of retrying it, so it is
 * not exponential either. It disagrees when the pattern holds a NUL (SQLite stops reading
 * the pattern there) or a lone surrogate (stored as U+FFFD), and it errors past its length
 * limit; those patterns are left to the JS predicate. Replica text never holds either
 * character (Postgres text cannot), so values need no such check.
 */
export function globAgreesWithLike(pattern: string): boolean {
  return (
    !pattern.includes('\0') &&
    !LONE_SURROGATE.test(pattern) &&
    Buffer.byteLength(likeToGlob(pattern)) <= MAX_GLOB_BYTES
  );
}

/** Translates a LIKE pattern (`%`, `_`, `\` escape) into a case-sensitive GLOB pattern. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    let ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) ch = pattern[++i] as string;
    else if (ch === '%') {
      out += '*';
      continue;
    } else if (ch === '_') {
      out += '?';
      continue;
    }
    out += ch === '*' || ch === '?' || ch === '[' ? `[${ch}]` : ch;
  }
  return out;
}

const RANGE_OPS = new Set(['<', '<=', '>', '>=']);

function holds(op: string, c: number): boolean {
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function compileSimple(c: SimpleCondition, kinds: ColumnKinds): SqlFragment {
  const {op, left, right} = c;
  if (left.kind === 'literal') {
    if (right.kind === 'literal') return evalSimple(op, left.value, right.value) ? TRUE : FALSE;
    return UNKNOWN;
  }
  const kind = kinds[left.name];
  if (kind === undefined || kind === 'json') return UNKNOWN;
  const col = quoteIdent(left.name);
  if (right.kind === 'column') {
    const other = kinds[right.name];
    if (op === 'IN' || op === 'NOT IN') return FALSE;
    if (other !== kind) return UNKNOWN;
    const rcol = quoteIdent(right.name);
    switch (op) {
      case 'IS':
      case 'IS NOT':
        return {sql: `${col} ${op} ${rcol}`, params: [], exact: true};
      case '=':
      case '!=':
        return {sql: `${col} ${op} ${rcol}`, params: [], exact: true};
      case '<':
      case '<=':
      case '>':
      case '>=':
        return kind === 'string' ? UNKNOWN : {sql: `${col} ${op} ${rcol}`, params: [], exact: true};
      default:
        return UNKNOWN;
    }
  }
  const v = right.value;
  switch (op) {
    case 'IS':
    case 'IS NOT': {
      const not = op === 'IS NOT';
      if (v === null) return {sql: `${col} ${op} NULL`, params: [], exact: true};
      if (Array.isArray(v) || !matchesKind(kind, v)) return not ? TRUE : FALSE;
      return {sql: `${col} ${op} ?`, params: [toParam(v)], exact: true};
    }
    case 'IN':
    case 'NOT IN': {
      if (!Array.isArray(v)) return FALSE;
      if (op === 'NOT IN' && v.includes(null)) return FALSE;
      const elems = v.filter(e => matchesKind(kind, e)).map(e => toParam(e as string));
      const marks = elems.map(() => '?').join(', ');
      if (op === 'IN') {
        return elems.length === 0
          ? FALSE
          : {sql: `${col} IN (${marks})`, params: elems, exact: true};
      }
      return {
        sql: elems.length === 0 ? `${col} IS NOT NULL` : `${col} NOT IN (${marks})`,
        params: elems,
        exact: true,
      };
    }
    default:
      break;
  }
  if (v === null || Array.isArray(v)) return FALSE;
  if (!matchesKind(kind, v)) {
    // JS compares values of different types by type rank alone.
    if (op === '=') return FALSE;
    if (op === '!=') return {sql: `${col} IS NOT NULL`, params: [], exact: true};
    if (RANGE_OPS.has(op)) {
      return holds(op, typeRank(kind) - typeRank(kindOfLiteral(v)))
        ? {sql: `${col} IS NOT NULL`, params: [], exact: true}
        : FALSE;
    }
    return UNKNOWN;
  }
  switch (op) {
    case '=':
    case '!=':
      return {sql: `${col} ${op} ?`, params: [toParam(v)], exact: true};
    case '<':
    case '<=':
    case '>':
    case '>=':
      if (typeof v === 'string' && !isOrderSafe(v)) return UNKNOWN;
      return {sql: `${col} ${op} ?`, params: [toParam(v)], exact: true};
    case 'LIKE':
    case 'NOT LIKE':
      if (typeof v !== 'string' || !globAgreesWithLike(v)) return UNKNOWN;
      return {
        sql: `${col} ${op === 'LIKE' ? 'GLOB' : 'NOT GLOB'} ?`,
        params: [likeToGlob(v)],
        exact: true,
      };
    default:
      // ILIKE folds case with Unicode rules, SQLite's LIKE only ASCII (and even an ASCII
      // pattern meets non-ASCII letters: `ſ` ILIKE 's', KELVIN SIGN ILIKE 'k'), so SQLite
      // could drop rows that match: the JS predicate decides.
      return UNKNOWN;
  }
}

/** Compiles a condition without EXISTS. `undefined` compiles to TRUE. */
export function compileFilter(cond: Condition | undefined, kinds: ColumnKinds): SqlFragment {
  if (!cond) return TRUE;
  switch (cond.kind) {
    case 'simple':
      return compileSimple(cond, kinds);
    case 'and':
    case 'or': {
      const parts = cond.conditions.map(c => compileFilter(c, kinds));
      const exact = parts.every(p => p.exact);
      if (parts.length === 0) return cond.kind === 'and' ? TRUE : FALSE;
      const glue = cond.kind === 'and' ? ' AND ' : ' OR ';
      return {
        sql: parts.map(p => `(${p.sql})`).join(glue),
        params: parts.flatMap(p => p.params),
        exact,
      };
    }
    default:
      return UNKNOWN;
  }
}
