// Building and rewriting conditions (the `where` part of the AST). Pure functions over
// plain data; the ExpressionBuilder in expression.ts checks names before calling these.
import type {Condition, LiteralValue, SimpleCondition, SimpleOperator} from '@zync/protocol';
import {SIMPLE_OPERATORS} from '@zync/protocol';

export {SIMPLE_OPERATORS};

const negations = {
  '=': '!=',
  '!=': '=',
  '<': '>=',
  '>=': '<',
  '>': '<=',
  '<=': '>',
  IN: 'NOT IN',
  'NOT IN': 'IN',
  LIKE: 'NOT LIKE',
  'NOT LIKE': 'LIKE',
  ILIKE: 'NOT ILIKE',
  'NOT ILIKE': 'ILIKE',
  IS: 'IS NOT',
  'IS NOT': 'IS',
  EXISTS: 'NOT EXISTS',
  'NOT EXISTS': 'EXISTS',
} as const;

export function negateOperator<OP extends keyof typeof negations>(op: OP): (typeof negations)[OP] {
  return negations[op];
}

/** Always true: an empty conjunction. */
export const TRUE: Condition = Object.freeze({kind: 'and', conditions: Object.freeze([])});
/** Always false: an empty disjunction. */
export const FALSE: Condition = Object.freeze({kind: 'or', conditions: Object.freeze([])});

export function isAlwaysTrue(c: Condition): boolean {
  return c.kind === 'and' && c.conditions.length === 0;
}

export function isAlwaysFalse(c: Condition): boolean {
  return c.kind === 'or' && c.conditions.length === 0;
}

export function isSimpleOperator(op: unknown): op is SimpleOperator {
  return typeof op === 'string' && (SIMPLE_OPERATORS as readonly string[]).includes(op);
}

/**
 * Checks and normalises a literal: `undefined` (a missing claim or argument) becomes null.
 * Throws TypeError for anything that is not a string, number, boolean, null or an array
 * of those.
 */
export function toLiteral(value: unknown): LiteralValue {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError('a number compared in a condition must be finite');
      }
      return value;
  }
  if (Array.isArray(value)) {
    return value.map(v => {
      const lit = toLiteral(v);
      if (Array.isArray(lit)) {
        throw new TypeError('arrays in conditions cannot be nested');
      }
      return lit;
    });
  }
  throw new TypeError(
    'a value in a condition must be a string, number, boolean, null or an array of these',
  );
}

/** Conjunction with flattening: and() is TRUE, and(x) is x, FALSE absorbs. */
export function and(...conditions: (Condition | undefined)[]): Condition {
  return combine('and', conditions);
}

/** Disjunction with flattening: or() is FALSE, or(x) is x, TRUE absorbs. */
export function or(...conditions: (Condition | undefined)[]): Condition {
  return combine('or', conditions);
}

function combine(kind: 'and' | 'or', conditions: readonly (Condition | undefined)[]): Condition {
  const flat: Condition[] = [];
  for (const c of conditions) {
    if (c === undefined) continue;
    if (c.kind === kind) {
      flat.push(...c.conditions);
    } else if (kind === 'and' ? isAlwaysFalse(c) : isAlwaysTrue(c)) {
      return c;
    } else {
      flat.push(c);
    }
  }
  if (flat.length === 1) return flat[0]!;
  return {kind, conditions: flat};
}

/** Negation by flipping operators (De Morgan for and/or); no `not` node exists. */
export function not(c: Condition): Condition {
  switch (c.kind) {
    case 'simple':
      return {...c, op: negateOperator(c.op)};
    case 'and':
      return or(...c.conditions.map(not));
    case 'or':
      return and(...c.conditions.map(not));
    case 'exists':
      return {...c, op: negateOperator(c.op)};
  }
}

/**
 * A column compared with a literal: `cmp(field, value)` means `=`. A missing (undefined)
 * value compares as null. Names are not checked here.
 */
export function cmp(
  field: string,
  ...args: [value: unknown] | [op: SimpleOperator, value: unknown]
): SimpleCondition {
  const [op, v] = args.length >= 2 ? args : (['=', args[0]] as const);
  if (!isSimpleOperator(op)) {
    throw new TypeError(`unknown operator ${JSON.stringify(op)}`);
  }
  return simple({kind: 'column', name: field}, op, {kind: 'literal', value: literalFor(op, v)});
}

/** Checks the value's shape against the operator. */
export function literalFor(op: SimpleOperator, value: unknown): LiteralValue {
  const lit = toLiteral(value);
  if ((op === 'IN' || op === 'NOT IN') && lit !== null && !Array.isArray(lit)) {
    throw new TypeError(`operator ${op} needs an array of values`);
  }
  if (op !== 'IN' && op !== 'NOT IN' && Array.isArray(lit)) {
    throw new TypeError(`operator ${op} cannot compare with an array (use IN)`);
  }
  return lit;
}

export function simple(
  left: SimpleCondition['left'],
  op: SimpleOperator,
  right: SimpleCondition['right'],
): SimpleCondition {
  return {kind: 'simple', op, left, right};
}
