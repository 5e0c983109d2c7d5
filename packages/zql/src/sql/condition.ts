// ZQL conditions → SQL WHERE fragments with the meaning the engine gives them
// (ivm/condition.ts): comparisons with NULL are false except IS / IS NOT, values of
// different types are never equal and order by the engine's type rank, strings compare by
// code point, LIKE / ILIKE follow ivm/like.ts. What SQL cannot decide exactly becomes TRUE
// in an inexact fragment (a superset of the rows); the caller then runs the JS predicate
// too, or refuses the query. With `rules: 'permissions'` comparisons follow the write-rule
// evaluator instead (permissions/evaluate.ts): values of different types never order and
// LIKE needs strings on both sides.
import type {
  Condition,
  ExistsCondition,
  LiteralValue,
  SimpleCondition,
  SimpleOperator,
} from '@zync/protocol';
import {unreachable} from '@zync/shared';
import {evalSimple} from '../ivm/condition.ts';
import {typeRank, type Value} from '../ivm/data.ts';
import {likeMatches, LIKE_ANY, LIKE_ONE, parseLikePattern} from '../ivm/like.ts';
import {compareValues as permissionCompare} from '../permissions/evaluate.ts';
import type {OrderOp, Scalar, SqlDialect} from './dialect.ts';
import {
  frag,
  isStorable,
  isStorableCodePoint,
  joinFragments,
  type SqlColumn,
  type SqlFragment,
  type ValueKind,
} from './fragment.ts';

export type CompareRules = 'engine' | 'permissions';

export interface ConditionContext {
  readonly dialect: SqlDialect;
  /** Default 'engine'. */
  readonly rules?: CompareRules | undefined;
  /** A column of the row the condition is about; undefined makes its comparisons inexact. */
  column(name: string): SqlColumn | undefined;
  /**
   * The complete SQL of an EXISTS / NOT EXISTS condition; undefined when it cannot be
   * expressed (the condition is then inexact).
   */
  exists?(cond: ExistsCondition): SqlFragment | undefined;
}

export function trueFragment(d: SqlDialect): SqlFragment {
  return frag(d.true);
}

export function falseFragment(d: SqlDialect): SqlFragment {
  return frag(d.false);
}

/** Not expressible: every row passes SQL, the JS predicate decides. */
export function unknownFragment(d: SqlDialect, why: string): SqlFragment {
  return {sql: d.true, params: [], exact: false, why};
}

/** Compiles a condition; `undefined` compiles to TRUE. */
export function compileCondition(cond: Condition | undefined, ctx: ConditionContext): SqlFragment {
  const d = ctx.dialect;
  if (!cond) return trueFragment(d);
  switch (cond.kind) {
    case 'simple':
      return compileSimple(cond, ctx);
    case 'and':
    case 'or': {
      if (cond.conditions.length === 0) {
        return cond.kind === 'and' ? trueFragment(d) : falseFragment(d);
      }
      const parts = cond.conditions.map(c => compileCondition(c, ctx));
      return joinFragments(parts, cond.kind === 'and' ? ' AND ' : ' OR ');
    }
    case 'exists':
      return ctx.exists?.(cond) ?? unknownFragment(d, `${cond.op} (no subquery SQL)`);
    default:
      return unreachable(cond);
  }
}

function isScalar(v: LiteralValue): v is Scalar {
  return v !== null && !Array.isArray(v);
}

function kindOf(v: Scalar): Exclude<ValueKind, 'json'> {
  return typeof v as 'string' | 'number' | 'boolean';
}

/** A value of each kind, to ask the engine's type rank about a column's type. */
const SAMPLE: Record<Exclude<ValueKind, 'json'>, Value> = {string: '', number: 0, boolean: false};

const FLIPPED: Record<OrderOp, OrderOp> = {'<': '>', '<=': '>=', '>': '<', '>=': '<='};

function isOrderOp(op: SimpleOperator): op is OrderOp {
  return op === '<' || op === '<=' || op === '>' || op === '>=';
}

function isLikeOp(op: SimpleOperator): boolean {
  return op === 'LIKE' || op === 'NOT LIKE' || op === 'ILIKE' || op === 'NOT ILIKE';
}

function holds(op: OrderOp, c: number): boolean {
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

function notNull(col: SqlColumn): SqlFragment {
  return frag(`${col.sql} IS NOT NULL`);
}

function compileSimple(c: SimpleCondition, ctx: ConditionContext): SqlFragment {
  const f = compileComparison(c, ctx);
  if (f.exact) return f;
  // Name the columns, so that a refusal says which comparison to change.
  const names = [c.left, c.right].flatMap(v => (v.kind === 'column' ? [`"${v.name}"`] : []));
  return {...f, why: `${f.why ?? c.op} (${names.join(', ')})`};
}

function compileComparison(c: SimpleCondition, ctx: ConditionContext): SqlFragment {
  const d = ctx.dialect;
  const {op, left, right} = c;
  if (left.kind === 'literal' && right.kind === 'literal') {
    const yes =
      ctx.rules === 'permissions'
        ? permissionCompare(op, left.value, right.value)
        : evalSimple(op, left.value, right.value);
    return yes ? trueFragment(d) : falseFragment(d);
  }
  if (left.kind === 'literal') {
    // `literal op column`: the same comparison seen from the column.
    const col = ctx.column((right as {name: string}).name);
    if (col === undefined) return unknownFragment(d, `${op} on an unknown column`);
    if (op === '=' || op === '!=' || op === 'IS' || op === 'IS NOT') {
      return columnLiteral(col, op, left.value, ctx);
    }
    if (isOrderOp(op)) return columnLiteral(col, FLIPPED[op], left.value, ctx);
    // IN needs a list on the right: a column holds one only when it is json.
    if ((op === 'IN' || op === 'NOT IN') && col.kind !== 'json') return falseFragment(d);
    return unknownFragment(d, `${op} with a column on the right`);
  }
  const col = ctx.column(left.name);
  if (col === undefined) return unknownFragment(d, `${op} on an unknown column`);
  if (right.kind === 'column') {
    const other = ctx.column(right.name);
    if (other === undefined) return unknownFragment(d, `${op} on an unknown column`);
    return columnColumn(col, op, other, ctx);
  }
  return columnLiteral(col, op, right.value, ctx);
}

function columnLiteral(
  col: SqlColumn,
  op: SimpleOperator,
  v: LiteralValue,
  ctx: ConditionContext,
): SqlFragment {
  const d = ctx.dialect;
  const strict = ctx.rules === 'permissions';
  if (col.kind === 'json') {
    if ((op === 'IS' || op === 'IS NOT') && v === null) {
      const isNull = d.jsonIsNull(col.sql);
      if (isNull !== undefined) return frag(op === 'IS' ? isNull : `NOT ${isNull}`);
    }
    return unknownFragment(d, `${op} on a json column`);
  }
  switch (op) {
    case 'IS':
    case 'IS NOT': {
      const not = op === 'IS NOT';
      if (v === null) return frag(`${col.sql} ${op} NULL`);
      // An array, a value of another type or one no column can hold is never the same.
      if (!isScalar(v) || kindOf(v) !== col.kind || (typeof v === 'string' && !isStorable(v))) {
        return not ? trueFragment(d) : falseFragment(d);
      }
      const p = d.param(v);
      return frag(not ? d.notSame(col.sql, p.sql) : d.same(col.sql, p.sql), [p.param]);
    }
    case 'IN':
    case 'NOT IN': {
      if (!Array.isArray(v)) return falseFragment(d);
      if (op === 'NOT IN' && v.includes(null)) return falseFragment(d);
      const elems = v.filter(
        (e): e is Scalar =>
          e !== null && kindOf(e) === col.kind && (typeof e !== 'string' || isStorable(e)),
      );
      if (elems.length === 0) return op === 'IN' ? falseFragment(d) : notNull(col);
      return d.inList(col, elems, op === 'NOT IN');
    }
    default:
      break;
  }
  if (!isScalar(v)) return falseFragment(d);
  if (isLikeOp(op)) return like(col, op, v, ctx);
  if (kindOf(v) !== col.kind) {
    if (op === '=') return falseFragment(d);
    if (op === '!=') return notNull(col);
    // The engine orders values of different types by type rank alone.
    if (strict) return falseFragment(d);
    return holds(op as OrderOp, typeRank(SAMPLE[col.kind]) - typeRank(v))
      ? notNull(col)
      : falseFragment(d);
  }
  if (typeof v === 'string') {
    if (op === '=' || op === '!=') {
      if (!isStorable(v)) return op === '=' ? falseFragment(d) : notNull(col);
    } else {
      return orderString(col, op as OrderOp, v, ctx);
    }
  }
  const p = d.param(v);
  return frag(d.ordered(col, op as OrderOp | '=' | '!=', p.sql), [p.param]);
}

/**
 * `col op s` for a string. A NUL cuts `s` down to the part before it (no stored value
 * holds one, and NUL orders below every character); a lone surrogate is left to JS.
 */
function orderString(col: SqlColumn, op: OrderOp, s: string, ctx: ConditionContext): SqlFragment {
  const d = ctx.dialect;
  const nul = s.indexOf('\0');
  if (nul >= 0) {
    // v < s ⟺ v <= prefix and v > s ⟺ v > prefix, for every v without a NUL.
    return orderString(col, op === '<' || op === '<=' ? '<=' : '>', s.slice(0, nul), ctx);
  }
  if (!isStorable(s)) return unknownFragment(d, `${op} with a lone surrogate`);
  // The write-rule evaluator compares UTF-16 units: the same order as code points unless
  // both strings hold a unit >= U+D800.
  if (ctx.rules === 'permissions' && /[\uD800-\uFFFF]/.test(s)) {
    return unknownFragment(d, `${op} on strings in UTF-16 order`);
  }
  const p = d.param(s);
  return frag(d.ordered(col, op, p.sql), [p.param]);
}

function like(col: SqlColumn, op: SimpleOperator, v: Scalar, ctx: ConditionContext): SqlFragment {
  const d = ctx.dialect;
  const negate = op === 'NOT LIKE' || op === 'NOT ILIKE';
  const ci = op === 'ILIKE' || op === 'NOT ILIKE';
  if (ctx.rules === 'permissions' && (col.kind !== 'string' || typeof v !== 'string')) {
    return falseFragment(d);
  }
  // The engine matches String(value) against String(pattern).
  const pattern = String(v);
  if (col.kind === 'boolean') {
    const t = likeMatches('true', pattern, ci) !== negate;
    const f = likeMatches('false', pattern, ci) !== negate;
    if (t && f) return notNull(col);
    if (!t && !f) return falseFragment(d);
    const p = d.param(t);
    return frag(d.ordered(col, '=', p.sql), [p.param]);
  }
  if (col.kind !== 'string') return unknownFragment(d, `${op} on a ${col.kind} column`);
  // A literal character no stored value holds matches nothing.
  const tokens = parseLikePattern(pattern, false);
  if (tokens.some(t => t !== LIKE_ANY && t !== LIKE_ONE && !isStorableCodePoint(t))) {
    return negate ? notNull(col) : falseFragment(d);
  }
  return d.like(col.sql, pattern, ci, negate);
}

function columnColumn(
  a: SqlColumn,
  op: SimpleOperator,
  b: SqlColumn,
  ctx: ConditionContext,
): SqlFragment {
  const d = ctx.dialect;
  if (a.kind === 'json' || b.kind === 'json') return unknownFragment(d, `${op} on a json column`);
  if (op === 'IN' || op === 'NOT IN') return falseFragment(d); // a column is not a list
  if (op === 'IS' || op === 'IS NOT') {
    if (a.kind === b.kind) {
      return frag(op === 'IS' ? d.same(a.sql, b.sql) : d.notSame(a.sql, b.sql));
    }
    const bothNull = `${a.sql} IS NULL AND ${b.sql} IS NULL`;
    return frag(op === 'IS' ? bothNull : `NOT (${bothNull})`);
  }
  if (isLikeOp(op)) {
    if (ctx.rules === 'permissions' && (a.kind !== 'string' || b.kind !== 'string')) {
      return falseFragment(d);
    }
    return unknownFragment(d, `${op} with a column as the pattern`);
  }
  const bothSet = frag(`${a.sql} IS NOT NULL AND ${b.sql} IS NOT NULL`);
  if (a.kind !== b.kind) {
    if (op === '=') return falseFragment(d);
    if (op === '!=') return bothSet;
    if (ctx.rules === 'permissions') return falseFragment(d);
    return holds(op as OrderOp, typeRank(SAMPLE[a.kind]) - typeRank(SAMPLE[b.kind]))
      ? bothSet
      : falseFragment(d);
  }
  if (ctx.rules === 'permissions' && a.kind === 'string' && isOrderOp(op)) {
    return unknownFragment(d, `${op} on strings in UTF-16 order`);
  }
  return frag(d.ordered(a, op as OrderOp | '=' | '!=', b.sql));
}
