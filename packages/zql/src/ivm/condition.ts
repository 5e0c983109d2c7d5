// Compiles `where` conditions (AST data) into predicates with SQL semantics:
// comparisons involving null are false (except IS / IS NOT), LIKE is case-sensitive,
// ILIKE is not, `\` escapes the next pattern character (the matcher: like.ts).
import type {
  Condition,
  ExistsCondition,
  LiteralValue,
  SimpleCondition,
  SimpleOperator,
  ValuePosition,
} from '@zync/protocol';
import {unreachable} from '@zync/shared';
import {compareValues, type Row, type Value} from './data.ts';
import {likeMatcher} from './like.ts';

/** Answers "is the EXISTS subquery with this name non-empty for the current row?" */
export type ExistsLookup = (relationshipName: string) => boolean;
export type Predicate = (row: Row, exists: ExistsLookup) => boolean;
export type RowPredicate = (row: Row) => boolean;

type Getter = (row: Row) => LiteralValue | undefined;

function getter(pos: ValuePosition): Getter {
  if (pos.kind === 'column') {
    const name = pos.name;
    return row => row[name] ?? null;
  }
  const value = pos.value;
  return () => value;
}

function isScalar(v: LiteralValue | undefined): v is Value {
  return v !== undefined && !Array.isArray(v);
}

/** Evaluates one comparison between two already-resolved values. */
export function evalSimple(
  op: SimpleOperator,
  l: LiteralValue | undefined,
  r: LiteralValue | undefined,
): boolean {
  switch (op) {
    case 'IS':
      return (l ?? null) === (r ?? null);
    case 'IS NOT':
      return (l ?? null) !== (r ?? null);
    case 'IN':
    case 'NOT IN': {
      if (l === null || l === undefined || Array.isArray(l) || !Array.isArray(r)) return false;
      const found = r.includes(l);
      if (op === 'IN') return found;
      return !found && !r.includes(null);
    }
    default:
      break;
  }
  if (!isScalar(l) || !isScalar(r) || l === null || r === null) return false;
  switch (op) {
    case '=':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return compareValues(l, r) < 0;
    case '<=':
      return compareValues(l, r) <= 0;
    case '>':
      return compareValues(l, r) > 0;
    case '>=':
      return compareValues(l, r) >= 0;
    case 'LIKE':
      return likeMatcher(String(r), false)(String(l));
    case 'NOT LIKE':
      return !likeMatcher(String(r), false)(String(l));
    case 'ILIKE':
      return likeMatcher(String(r), true)(String(l));
    case 'NOT ILIKE':
      return !likeMatcher(String(r), true)(String(l));
    default:
      return unreachable(op);
  }
}

function compileSimple(c: SimpleCondition): RowPredicate {
  const l = getter(c.left);
  const r = getter(c.right);
  const op = c.op;
  if (c.right.kind === 'literal' && c.left.kind === 'column') {
    const name = c.left.name;
    const value = c.right.value;
    if (op === '=' && value !== null && !Array.isArray(value)) {
      return row => row[name] === value;
    }
    if ((op === 'LIKE' || op === 'ILIKE') && typeof value === 'string') {
      const matches = likeMatcher(value, op === 'ILIKE');
      return row => {
        const v = row[name];
        return v !== null && v !== undefined && matches(String(v));
      };
    }
  }
  return row => evalSimple(op, l(row), r(row));
}

/**
 * Compiles a condition. `existsName` maps each EXISTS node of the tree to the name of the
 * relationship that evaluates it.
 */
export function compileCondition(
  cond: Condition,
  existsName: (c: ExistsCondition) => string,
): Predicate {
  switch (cond.kind) {
    case 'simple': {
      const p = compileSimple(cond);
      return row => p(row);
    }
    case 'and': {
      const parts = cond.conditions.map(c => compileCondition(c, existsName));
      return (row, ex) => {
        for (const p of parts) if (!p(row, ex)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = cond.conditions.map(c => compileCondition(c, existsName));
      return (row, ex) => {
        for (const p of parts) if (p(row, ex)) return true;
        return false;
      };
    }
    case 'exists': {
      const name = existsName(cond);
      const negate = cond.op === 'NOT EXISTS';
      return (_row, ex) => ex(name) !== negate;
    }
    default:
      return unreachable(cond);
  }
}

const noExists: ExistsLookup = () => {
  throw new Error('EXISTS cannot be evaluated on a plain row');
};

/** A predicate for conditions that contain no EXISTS. */
export function compileRowPredicate(cond: Condition | undefined): RowPredicate {
  if (!cond) return () => true;
  const p = compileCondition(cond, () => '');
  return row => p(row, noExists);
}

export function hasExists(cond: Condition | undefined): boolean {
  if (!cond) return false;
  switch (cond.kind) {
    case 'simple':
      return false;
    case 'and':
    case 'or':
      return cond.conditions.some(hasExists);
    case 'exists':
      return true;
    default:
      return unreachable(cond);
  }
}

/**
 * Splits a condition into the EXISTS-free top-level conjuncts (pushed down to the
 * source, which may turn them into SQL) and the rest (evaluated by a Filter operator).
 */
export function splitCondition(cond: Condition | undefined): {
  pushed: Condition | undefined;
  rest: Condition | undefined;
} {
  if (!cond) return {pushed: undefined, rest: undefined};
  if (!hasExists(cond)) return {pushed: cond, rest: undefined};
  if (cond.kind !== 'and') return {pushed: undefined, rest: cond};
  const pushed = cond.conditions.filter(c => !hasExists(c));
  const rest = cond.conditions.filter(c => hasExists(c));
  return {
    pushed: pushed.length === 0 ? undefined : {kind: 'and', conditions: pushed},
    rest: rest.length === 1 ? rest[0] : {kind: 'and', conditions: rest},
  };
}
