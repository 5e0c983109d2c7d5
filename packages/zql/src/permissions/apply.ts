// Read permissions as part of the query itself: the select condition of each table is
// ANDed into every level of the AST (root, related subqueries, EXISTS subqueries, junction
// hops), so a row the user may not read never leaves the server, not even as a join key.
// The EXISTS subqueries a rule adds are marked `serverOnly`: the rows they read decide
// which rows pass and are never sent (they are not filtered by their own table's rules).
import type {AST, Condition, CorrelatedSubquery} from '@zync/protocol';
import {and, isAlwaysTrue} from '../query/condition.ts';
import {deepFreeze} from '../query/ast.ts';
import {mapAST, type NameDirection} from '../schema/name-map.ts';
import type {BoundPermissions} from './bind.ts';

export type ApplyOptions = {
  /** The naming of `ast` (default 'client'). Server-named ASTs are mapped and back. */
  readonly names?: NameDirection | undefined;
};

/**
 * Returns `ast` with the select permissions ANDed in at every level. Conditions that the
 * permission rules themselves add (e.g. an EXISTS in a rule) are not filtered again.
 */
export function applySelectPermissions(
  ast: AST,
  bound: BoundPermissions,
  options?: ApplyOptions,
): AST {
  if (options?.names === 'server') {
    const client = mapAST(ast, bound.schema, 'client');
    return deepFreeze(mapAST(applyAST(client, bound), bound.schema, 'server'));
  }
  return deepFreeze(applyAST(ast, bound));
}

function applyAST(ast: AST, bound: BoundPermissions): AST {
  const own = ast.where === undefined ? undefined : applyCondition(ast.where, bound);
  const where = and(own, ruleCondition(bound.selectCondition(ast.table)));
  const {where: _w, related: _r, ...rest} = ast;
  const out: {-readonly [K in keyof AST]: AST[K]} = {...rest};
  if (!isAlwaysTrue(where)) out.where = where;
  if (ast.related !== undefined) out.related = ast.related.map(r => applyCorrelated(r, bound));
  return out;
}

function applyCorrelated(c: CorrelatedSubquery, bound: BoundPermissions): CorrelatedSubquery {
  return {...c, subquery: applyAST(c.subquery, bound)};
}

function applyCondition(c: Condition, bound: BoundPermissions): Condition {
  switch (c.kind) {
    case 'simple':
      return c;
    case 'and':
    case 'or':
      return {kind: c.kind, conditions: c.conditions.map(x => applyCondition(x, bound))};
    case 'exists':
      return {...c, related: applyCorrelated(c.related, bound)};
  }
}

/** Rule conditions with their EXISTS marked, per bound condition (bound ones are cached). */
const marked = new WeakMap<Condition, Condition>();

/** A rule's condition with every EXISTS subquery in it (nested ones too) marked serverOnly. */
function ruleCondition(c: Condition): Condition {
  let out = marked.get(c);
  if (out === undefined) {
    out = markServerOnly(c);
    marked.set(c, out);
  }
  return out;
}

function markServerOnly(c: Condition): Condition {
  switch (c.kind) {
    case 'simple':
      return c;
    case 'and':
    case 'or':
      return {kind: c.kind, conditions: c.conditions.map(markServerOnly)};
    case 'exists':
      return {...c, related: markCorrelated(c.related)};
  }
}

function markCorrelated(c: CorrelatedSubquery): CorrelatedSubquery {
  const sub = c.subquery;
  const subquery: AST = {
    ...sub,
    ...(sub.where === undefined ? {} : {where: markServerOnly(sub.where)}),
    ...(sub.related === undefined ? {} : {related: sub.related.map(markCorrelated)}),
  };
  return {...c, subquery, serverOnly: true};
}
