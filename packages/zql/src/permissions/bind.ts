// Binding permissions to one connection: every rule is called with the connection's real
// decoded claims, and the resulting conditions are folded (a comparison of two literals,
// e.g. a claim with a constant, becomes TRUE or FALSE) so only row-dependent parts remain.
import type {AST, Condition} from '@zync/protocol';
import type {ReadonlyJSONObject} from '@zync/shared';
import {tableSchemaOf, type Schema} from '../schema/schema.ts';
import {and, FALSE, isAlwaysFalse, isAlwaysTrue, or, TRUE} from '../query/condition.ts';
import {deepFreeze} from '../query/ast.ts';
import {QueryImpl} from '../query/query-impl.ts';
import type {DefinedPermissions, StoredPolicy, StoredRowPermissions} from './define.ts';
import {compareValues} from './evaluate.ts';

export type PermissionAction =
  'select' | 'insert' | 'update.preMutation' | 'update.postMutation' | 'delete';

export type BindOptions = {
  /** Called when a rule throws or returns no condition; that rule then denies. */
  readonly onRuleError?:
    ((table: string, action: PermissionAction, error: unknown) => void) | undefined;
};

/**
 * Permissions with the claims filled in. Each method gives one Condition over a row of
 * `table` (client names): TRUE (`isAlwaysTrue`) allows every row, FALSE denies all. A
 * policy allows a row when at least one of its rules does; a missing or empty policy
 * denies.
 */
export interface BoundPermissions {
  readonly schema: Schema;
  readonly authData: ReadonlyJSONObject;
  condition(table: string, action: PermissionAction): Condition;
  selectCondition(table: string): Condition;
  insertCondition(table: string): Condition;
  /** Checked against the row as it is before the update. */
  updatePreCondition(table: string): Condition;
  /** Checked against the row as it would be after the update. */
  updatePostCondition(table: string): Condition;
  deleteCondition(table: string): Condition;
  /**
   * The columns of `table` (client names) that have a cell policy for `action`, in the
   * order the app wrote them. Cell policies restrict on top of the row policy.
   */
  cellColumns(table: string, action: PermissionAction): readonly string[];
  /**
   * The cell policy of one column for `action` as a condition over the row, or undefined
   * when that column has no policy for the action (no restriction of its own).
   */
  cellCondition(table: string, column: string, action: PermissionAction): Condition | undefined;
}

/**
 * `authData` is the decoded JWT payload; null/undefined (no token) is the anonymous `{}`.
 * A missing claim reads as undefined in the rule and compares as null.
 */
export function bindPermissions(
  permissions: DefinedPermissions,
  authData: unknown,
  options?: BindOptions,
): BoundPermissions {
  if (!permissions || typeof permissions !== 'object' || typeof permissions.tables !== 'object') {
    throw new TypeError('bindPermissions: expected the value definePermissions resolved to');
  }
  const schema = permissions.schema;
  const claims = normalizeClaims(authData);
  const cache = new Map<string, Condition>();

  const policyIn = (
    p: StoredRowPermissions | undefined,
    action: PermissionAction,
  ): StoredPolicy | undefined => {
    switch (action) {
      case 'select':
        return p?.select;
      case 'insert':
        return p?.insert;
      case 'update.preMutation':
        return p?.update?.preMutation;
      case 'update.postMutation':
        return p?.update?.postMutation;
      case 'delete':
        return p?.delete;
    }
  };

  const bindPolicy = (table: string, action: PermissionAction, rules: StoredPolicy): Condition => {
    const conds: Condition[] = [];
    for (const rule of rules) {
      try {
        const eb = new QueryImpl(undefined, schema, table).expressionBuilder({literalLeft: true});
        const c = rule(claims, eb) as Condition | undefined;
        if (!c || typeof c !== 'object' || typeof c.kind !== 'string') {
          throw new TypeError('a permission rule must return a condition');
        }
        conds.push(foldCondition(c));
      } catch (e) {
        options?.onRuleError?.(table, action, e);
      }
    }
    return deepFreeze(conds.length === 0 ? FALSE : or(...conds));
  };

  const condition = (table: string, action: PermissionAction): Condition => {
    const key = `${action}\u0000${table}`;
    const hit = cache.get(key);
    if (hit) return hit;
    tableSchemaOf(schema, table); // unknown table: TypeError
    const result = bindPolicy(
      table,
      action,
      policyIn(permissions.tables[table]?.row, action) ?? [],
    );
    cache.set(key, result);
    return result;
  };

  const cellColumns = (table: string, action: PermissionAction): readonly string[] => {
    tableSchemaOf(schema, table);
    const cells = permissions.tables[table]?.cell ?? {};
    return Object.keys(cells).filter(c => policyIn(cells[c], action) !== undefined);
  };

  const cellCache = new Map<string, Condition | undefined>();
  const cellCondition = (
    table: string,
    column: string,
    action: PermissionAction,
  ): Condition | undefined => {
    const key = `${action}\u0000${table}\u0000${column}`;
    if (cellCache.has(key)) return cellCache.get(key);
    tableSchemaOf(schema, table);
    const rules = policyIn(permissions.tables[table]?.cell?.[column], action);
    const result = rules === undefined ? undefined : bindPolicy(table, action, rules);
    cellCache.set(key, result);
    return result;
  };

  return {
    schema,
    authData: claims,
    condition,
    selectCondition: t => condition(t, 'select'),
    insertCondition: t => condition(t, 'insert'),
    updatePreCondition: t => condition(t, 'update.preMutation'),
    updatePostCondition: t => condition(t, 'update.postMutation'),
    deleteCondition: t => condition(t, 'delete'),
    cellColumns,
    cellCondition,
  };
}

function normalizeClaims(authData: unknown): ReadonlyJSONObject {
  if (authData === null || authData === undefined) return deepFreeze({});
  if (typeof authData !== 'object' || Array.isArray(authData)) {
    throw new TypeError('bindPermissions: authData must be an object of claims (or undefined)');
  }
  // A private copy: rules cannot change the claims seen by later rules.
  return deepFreeze(JSON.parse(JSON.stringify(authData)) as ReadonlyJSONObject);
}

/**
 * Replaces comparisons between two literals with TRUE/FALSE and simplifies and/or around
 * them; EXISTS subqueries are folded too (an EXISTS over a FALSE filter is FALSE).
 */
export function foldCondition(c: Condition): Condition {
  switch (c.kind) {
    case 'simple':
      if (c.left.kind === 'literal' && c.right.kind === 'literal') {
        return compareValues(c.op, c.left.value, c.right.value) ? TRUE : FALSE;
      }
      // `col IN ()` (e.g. an empty or missing array claim) can match no row.
      if (c.op === 'IN' && c.right.kind === 'literal') {
        const v = c.right.value;
        if (v === null || (Array.isArray(v) && v.every(x => x === null))) return FALSE;
      }
      return c;
    case 'and':
      return and(...c.conditions.map(foldCondition));
    case 'or':
      return or(...c.conditions.map(foldCondition));
    case 'exists': {
      const sub = foldAST(c.related.subquery);
      if (sub.where && isAlwaysFalse(sub.where)) {
        return c.op === 'EXISTS' ? FALSE : TRUE;
      }
      return {...c, related: {...c.related, subquery: sub}};
    }
  }
}

function foldAST(ast: AST): AST {
  if (!ast.where) return ast;
  const where = foldCondition(ast.where);
  const {where: _old, ...rest} = ast;
  return isAlwaysTrue(where) ? rest : {...rest, where};
}
