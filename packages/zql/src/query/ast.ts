// Helpers over the AST as plain data: deep freeze, the PK tie-break, normalisation for
// hashing, and the result format a query implies.
import type {AST, Condition, CorrelatedSubquery, Ordering} from '@zync/protocol';
import {hashOf, stableStringify} from '@zync/shared';
import type {PrimaryKey} from '../schema/table.ts';
import type {Format} from './delegate.ts';

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) {
      deepFreeze(v);
    }
    Object.freeze(value);
  }
  return value;
}

/** Appends the primary-key columns missing from `orderBy` (ascending): a total order. */
export function completeOrdering(orderBy: Ordering | undefined, pk: PrimaryKey): Ordering {
  const out = [...(orderBy ?? [])];
  for (const col of pk) {
    if (!out.some(([c]) => c === col)) {
      out.push([col, 'asc']);
    }
  }
  return out;
}

/**
 * A canonical form: and/or flattened and their conditions sorted, related subqueries
 * sorted by alias. Two ASTs that mean the same give the same normal form.
 */
export function normalizeAST(ast: AST): AST {
  const out: {-readonly [K in keyof AST]: AST[K]} = {kind: 'query', table: ast.table};
  if (ast.alias !== undefined) out.alias = ast.alias;
  if (ast.where !== undefined) out.where = normalizeCondition(ast.where);
  if (ast.related !== undefined && ast.related.length > 0) {
    out.related = ast.related
      .map(normalizeCorrelated)
      .sort((a, b) => cmpStr(a.subquery.alias ?? '', b.subquery.alias ?? ''));
  }
  if (ast.start !== undefined) out.start = ast.start;
  if (ast.limit !== undefined) out.limit = ast.limit;
  if (ast.orderBy !== undefined) out.orderBy = ast.orderBy;
  if (ast.one === true) out.one = true;
  return out;
}

function normalizeCorrelated(c: CorrelatedSubquery): CorrelatedSubquery {
  const out: {-readonly [K in keyof CorrelatedSubquery]: CorrelatedSubquery[K]} = {
    kind: 'correlated',
    correlation: c.correlation,
    subquery: normalizeAST(c.subquery),
  };
  if (c.hidden === true) out.hidden = true;
  if (c.serverOnly === true) out.serverOnly = true;
  return out;
}

export function normalizeCondition(c: Condition): Condition {
  switch (c.kind) {
    case 'simple':
      return c;
    case 'exists':
      return {kind: 'exists', op: c.op, related: normalizeCorrelated(c.related)};
    case 'and':
    case 'or': {
      const flat: Condition[] = [];
      for (const sub of c.conditions.map(normalizeCondition)) {
        if (sub.kind === c.kind) flat.push(...sub.conditions);
        else flat.push(sub);
      }
      if (flat.length === 1) return flat[0]!;
      const keyed = flat.map(x => [stableStringify(x), x] as const);
      keyed.sort((a, b) => cmpStr(a[0], b[0]));
      const unique = keyed.filter((x, i) => i === 0 || x[0] !== keyed[i - 1]![0]);
      if (unique.length === 1) return unique[0]![1];
      return {kind: c.kind, conditions: unique.map(x => x[1])};
    }
  }
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A stable hash of an AST's normal form (16 hex characters). */
export function hashAST(ast: AST): string {
  return hashOf(normalizeAST(ast));
}

/** The result shape an AST implies: `.one()` / one-relationships are singular. */
export function formatOf(ast: AST): Format {
  const relationships: Record<string, Format> = {};
  for (const r of ast.related ?? []) {
    // A hidden junction hop shows its child under its own alias.
    const shown = r.hidden === true ? r.subquery.related?.[0]?.subquery : r.subquery;
    if (shown && r.subquery.alias !== undefined) {
      relationships[r.subquery.alias] = formatOf(shown);
    }
  }
  return {singular: ast.one === true, relationships};
}
