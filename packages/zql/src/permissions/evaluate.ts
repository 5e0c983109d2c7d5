// SQL-like evaluation of a condition against one row, for write checks (and for folding
// literal-only comparisons). Comparisons with null are false except IS / IS NOT; LIKE is
// case-sensitive and ILIKE is not; `\` escapes `%`, `_` and itself.
import type {
  Condition,
  ExistsCondition,
  LiteralValue,
  SimpleOperator,
  ValuePosition,
} from '@zync/protocol';
import {likeMatcher} from '../ivm/like.ts';

export type RowValues = Readonly<Record<string, unknown>>;

/**
 * Answers whether the correlated subquery of an EXISTS condition has at least one row for
 * `row` (the caller runs it, e.g. against the replica); the condition's op is applied here.
 */
export type ExistsResolver = (cond: ExistsCondition, row: RowValues) => boolean;

export function evaluateCondition(
  cond: Condition,
  row: RowValues,
  existsResolver?: ExistsResolver,
): boolean {
  switch (cond.kind) {
    case 'simple':
      return compareValues(cond.op, valueOf(cond.left, row), valueOf(cond.right, row));
    case 'and':
      return cond.conditions.every(c => evaluateCondition(c, row, existsResolver));
    case 'or':
      return cond.conditions.some(c => evaluateCondition(c, row, existsResolver));
    case 'exists': {
      if (!existsResolver) {
        throw new TypeError('evaluateCondition: an EXISTS condition needs an existsResolver');
      }
      const found = existsResolver(cond, row);
      return cond.op === 'EXISTS' ? found : !found;
    }
  }
}

function valueOf(v: ValuePosition, row: RowValues): unknown {
  return v.kind === 'literal' ? v.value : (row[v.name] ?? null);
}

type Scalar = string | number | boolean;

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** One comparison with SQL null semantics (see file comment). */
export function compareValues(op: SimpleOperator, left: unknown, right: unknown): boolean {
  const l = left === undefined ? null : left;
  const r = right === undefined ? null : right;
  switch (op) {
    case 'IS':
      return l === r;
    case 'IS NOT':
      return l !== r;
  }
  if (l === null || r === null) return false;
  switch (op) {
    case '=':
      return isScalar(l) && l === r;
    case '!=':
      return isScalar(l) && isScalar(r) && l !== r;
    case '<':
    case '<=':
    case '>':
    case '>=':
      return ordered(op, l, r);
    case 'IN':
    case 'NOT IN':
      return inList(op, l, r);
    case 'LIKE':
    case 'NOT LIKE':
    case 'ILIKE':
    case 'NOT ILIKE': {
      if (typeof l !== 'string' || typeof r !== 'string') return false;
      const ci = op === 'ILIKE' || op === 'NOT ILIKE';
      const match = likeMatcher(r, ci)(l);
      return op === 'LIKE' || op === 'ILIKE' ? match : !match;
    }
  }
}

function ordered(op: '<' | '<=' | '>' | '>=', l: unknown, r: unknown): boolean {
  if (!isScalar(l) || typeof l !== typeof r) return false;
  const rr = r as Scalar;
  switch (op) {
    case '<':
      return l < rr;
    case '<=':
      return l <= rr;
    case '>':
      return l > rr;
    case '>=':
      return l >= rr;
  }
}

/**
 * `x IN list`. A null in the list never matches, and makes NOT IN false when nothing else
 * matched (SQL). An array on the left (a literal, e.g. a claim) matches when any of its
 * elements is in the list.
 */
function inList(op: 'IN' | 'NOT IN', l: unknown, r: unknown): boolean {
  if (!Array.isArray(r)) return false;
  const list = r as readonly LiteralValue[];
  const lefts = Array.isArray(l) ? (l as unknown[]) : [l];
  const hit = lefts.some(x => x !== null && list.includes(x as LiteralValue));
  if (op === 'IN') return hit;
  return !hit && !list.includes(null) && lefts.every(x => x !== null);
}
