// The most a client may ask of the view syncer, checked before any work is done on a query
// (preparing, permissions, hydration). The walk is iterative and stops at the first limit
// passed, so an oversized AST costs no more than the budget itself. See docs/security.md.
import type {AST, Condition, CorrelatedSubquery, LiteralValue} from '@zync/protocol';
import {passThroughQueryPreparer, type QueryPreparer} from './group-client.ts';

export type QueryBudget = {
  /** Levels of `related`/`exists` subqueries below the root query. */
  readonly maxQueryDepth: number;
  /** Nodes of one AST: queries, subqueries, conditions, and each column of a correlation. */
  readonly maxQueryNodes: number;
  /** Values in one `IN`/`NOT IN` list. */
  readonly maxInListLength: number;
  /** Characters of any one string in an AST (literals, names). */
  readonly maxQueryStringLength: number;
  /** Live queries (wanted, or kept for their TTL) in one client group. */
  readonly maxQueriesPerGroup: number;
};

export const DEFAULT_QUERY_BUDGET: QueryBudget = Object.freeze({
  maxQueryDepth: 10,
  maxQueryNodes: 500,
  maxInListLength: 1_000,
  maxQueryStringLength: 10_000,
  maxQueriesPerGroup: 500,
});

/** The setting of each limit, named in the errors of queries over it. */
export const QUERY_BUDGET_SETTINGS: Readonly<Record<keyof QueryBudget, string>> = {
  maxQueryDepth: 'ZERO_QUERY_MAX_DEPTH',
  maxQueryNodes: 'ZERO_QUERY_MAX_NODES',
  maxInListLength: 'ZERO_QUERY_MAX_IN_LIST_LENGTH',
  maxQueryStringLength: 'ZERO_QUERY_MAX_STRING_LENGTH',
  maxQueriesPerGroup: 'ZERO_MAX_QUERIES_PER_CLIENT_GROUP',
};

function over(limit: keyof QueryBudget, what: string, budget: QueryBudget): string {
  return `${what}; the limit is ${budget[limit]} (${QUERY_BUDGET_SETTINGS[limit]}). Simplify the query or raise the setting`;
}

/** Why `ast` is over the budget, or undefined when it is within it. */
export function checkQueryBudget(ast: AST, budget: QueryBudget): string | undefined {
  let nodes = 0;
  const queries: [AST, number][] = [[ast, 0]];
  const conditions: [Condition, number][] = [];
  const str = (s: string, what: string) =>
    s.length > budget.maxQueryStringLength
      ? over(
          'maxQueryStringLength',
          `A ${what} of the query is ${s.length} characters long`,
          budget,
        )
      : undefined;
  const literal = (v: LiteralValue): string | undefined => {
    if (typeof v === 'string') return str(v, 'string literal');
    if (!Array.isArray(v)) return undefined;
    if (v.length > budget.maxInListLength) {
      return over('maxInListLength', `An IN list of the query has ${v.length} values`, budget);
    }
    for (const x of v) {
      if (typeof x === 'string' && str(x, 'string literal')) return str(x, 'string literal');
    }
    return undefined;
  };
  const tooMany = () =>
    over('maxQueryNodes', `The query has more than ${budget.maxQueryNodes} nodes`, budget);
  const subquery = (r: CorrelatedSubquery, depth: number): string | undefined => {
    const fields = [...r.correlation.parentField, ...r.correlation.childField];
    nodes += fields.length;
    if (nodes > budget.maxQueryNodes) return tooMany();
    for (const f of fields) {
      const b = str(f, 'column name');
      if (b) return b;
    }
    if (depth > budget.maxQueryDepth) {
      return over(
        'maxQueryDepth',
        `The query nests related/exists subqueries ${depth} levels deep`,
        budget,
      );
    }
    queries.push([r.subquery, depth]);
    return undefined;
  };
  while (queries.length > 0 || conditions.length > 0) {
    if (++nodes > budget.maxQueryNodes) return tooMany();
    const c = conditions.pop();
    if (c) {
      const [cond, depth] = c;
      switch (cond.kind) {
        case 'simple': {
          for (const side of [cond.left, cond.right]) {
            const bad =
              side.kind === 'literal' ? literal(side.value) : str(side.name, 'column name');
            if (bad) return bad;
          }
          break;
        }
        case 'and':
        case 'or':
          if (nodes + cond.conditions.length > budget.maxQueryNodes) return tooMany();
          for (const x of cond.conditions) conditions.push([x, depth]);
          break;
        case 'exists': {
          const bad = subquery(cond.related, depth + 1);
          if (bad) return bad;
          break;
        }
      }
      continue;
    }
    const [q, depth] = queries.pop()!;
    const bad =
      str(q.table, 'table name') ??
      (q.alias === undefined ? undefined : str(q.alias, 'relationship name')) ??
      Object.entries(q.start?.row ?? {})
        .map(([k, v]) => str(k, 'column name') ?? literal(v))
        .find(x => x !== undefined);
    if (bad) return bad;
    for (const [col] of q.orderBy ?? []) {
      const b = str(col, 'column name');
      if (b) return b;
    }
    if (q.where) conditions.push([q.where, depth]);
    const related = q.related ?? [];
    if (nodes + related.length > budget.maxQueryNodes) return tooMany();
    for (const r of related) {
      const b = subquery(r, depth + 1);
      if (b) return b;
    }
  }
  return undefined;
}

/**
 * A preparer stage that refuses an AST over the budget. zero-cache puts it right after
 * synced-query resolution (the API server's AST is built from client-chosen args) and
 * before permissions, whose growth is bounded by the rules (see docs/security.md).
 */
export function budgetPreparer(budget: QueryBudget): QueryPreparer {
  return (query, ctx) => {
    const bad = query.ast && checkQueryBudget(query.ast, budget);
    if (bad)
      return Promise.resolve({ok: false, error: {hash: query.hash, kind: 'refused', message: bad}});
    return query.ast
      ? Promise.resolve({ok: true, ast: query.ast})
      : passThroughQueryPreparer(query, ctx);
  };
}
