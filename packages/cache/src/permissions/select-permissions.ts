// Select permissions for the view syncer: binds the app's rules to a connection's real
// claims and ANDs the select condition into every level of a query's AST (root, related,
// exists, junction hops), so a row the rules deny never enters a query's result.
import type {AST, Condition} from '@zync/protocol';
import {silentLogger, stableStringify, type Logger} from '@zync/shared';
import {
  applySelectPermissions,
  bindPermissions,
  columnReferences,
  FALSE,
  isAlwaysTrue,
  TRUE,
  mapAST,
  type BoundPermissions,
  type DefinedPermissions,
} from '@zync/zql';
import {
  passThroughQueryPreparer,
  type CellMask,
  type CellVisibility,
  type PreparedQuery,
  type QueryContext,
  type QueryPreparer,
} from '../view-syncer/group-client.ts';
import {cellMask, strictestCellRules, type CellRule} from './cell-visibility.ts';
import {cellsWhoseSelectReadsClaims, tablesWhoseSelectReadsClaims} from './claim-usage.ts';
import {PermissionsError} from './permissions-error.ts';

export type ClaimsMode =
  /** A ZERO_AUTH_* key is set: `ctx.authData` holds verified claims (`{}` if anonymous). */
  | 'verified'
  /** No key: tokens are opaque, never decoded; rules that read claims refuse tokened queries. */
  | 'opaque';

export type SelectPermissionsOptions = {
  /** The app's permissions; undefined allows every read (no ZERO_SCHEMA_PATH). */
  readonly permissions: DefinedPermissions | undefined;
  readonly claims: ClaimsMode;
  readonly logger?: Logger | undefined;
  /** Bound rule sets kept, one per distinct set of claims (default 1000, least recent out). */
  readonly maxCachedClaims?: number | undefined;
};

/** `(ast, ctx) => ast` with permissions applied; throws PermissionsError to refuse. */
export type ApplySelectPermissions = (ast: AST, ctx: QueryContext) => AST;

export class SelectPermissions implements CellVisibility {
  readonly #permissions: DefinedPermissions | undefined;
  readonly #claims: ClaimsMode;
  readonly #lc: Logger;
  readonly #max: number;
  readonly #bound = new Map<string, BoundPermissions>();
  readonly #needClaims: ReadonlySet<string>;
  readonly #cellsNeedClaims: ReadonlySet<string>;

  constructor(options: SelectPermissionsOptions) {
    this.#permissions = options.permissions;
    this.#claims = options.claims;
    this.#lc = options.logger ?? silentLogger;
    this.#max = options.maxCachedClaims ?? 1000;
    this.#needClaims = options.permissions
      ? tablesWhoseSelectReadsClaims(options.permissions)
      : new Set();
    this.#cellsNeedClaims = options.permissions
      ? cellsWhoseSelectReadsClaims(options.permissions)
      : new Set();
  }

  /** Tables (client names) whose select rules read the claims. */
  get tablesNeedingClaims(): ReadonlySet<string> {
    return this.#needClaims;
  }

  /** The connection's rules, bound once per distinct claims. */
  bound(authData: QueryContext['authData']): BoundPermissions | undefined {
    const permissions = this.#permissions;
    if (!permissions) return undefined;
    const key = stableStringify(authData);
    let b = this.#bound.get(key);
    if (b) {
      // Most recently used goes last.
      this.#bound.delete(key);
      this.#bound.set(key, b);
      return b;
    }
    const lc = this.#lc;
    b = bindPermissions(permissions, authData, {
      onRuleError: (table, action, e) =>
        lc.warn('A permission rule threw; it denies', {
          table,
          action,
          error: e instanceof Error ? e.name : 'unknown',
        }),
    });
    this.#bound.set(key, b);
    if (this.#bound.size > this.#max) {
      const oldest = this.#bound.keys().next().value;
      if (oldest !== undefined) this.#bound.delete(oldest);
    }
    return b;
  }

  /**
   * The AST (server names) with the select permissions of `ctx` applied at every level.
   * Throws PermissionsError when the query must be refused.
   */
  readonly apply: ApplySelectPermissions = (ast, ctx) => {
    const permissions = this.#permissions;
    if (!permissions) return ast;
    let client: AST;
    try {
      client = mapAST(ast, permissions.schema, 'client');
    } catch (e) {
      throw new PermissionsError(
        'unknown-name',
        'The query names a table or column that the schema file (ZERO_SCHEMA_PATH) does not define',
        {cause: e},
      );
    }
    const opaque = this.#claims === 'opaque' && ctx.token !== undefined;
    if (opaque) {
      const needing = [...tablesOf(client)].filter(t => this.#needClaims.has(t));
      if (needing.length > 0) {
        throw new PermissionsError(
          'needs-claims',
          `The select permissions of ${needing.map(t => `"${t}"`).join(', ')} read the JWT ` +
            'claims, but zero-cache has no key to verify tokens (set ZERO_AUTH_SECRET, ' +
            'ZERO_AUTH_JWK or ZERO_AUTH_JWKS_URL), so it cannot evaluate them',
        );
      }
    }
    // Opaque tokens are never decoded: rules that do not read claims see `{}`.
    const bound = this.bound(opaque ? {} : ctx.authData);
    if (!bound) return ast;
    const denied = columnReferences(client).filter(
      ({table, column}) => !isAlwaysTrue(this.#cellAllowed(bound, opaque, table, column)),
    );
    if (denied.length > 0) {
      const names = denied.map(({table, column}) => `"${table}.${column}"`).join(', ');
      throw new PermissionsError(
        'hidden-column',
        `The query filters, orders or joins on ${names}, which the cell select rules do not ` +
          'let this user read in every row; remove those columns from the query (its rows ' +
          'leave them out where the rules hide them)',
      );
    }
    return mapAST(applySelectPermissions(client, bound), permissions.schema, 'server');
  };

  /** The cell select condition of one column for these claims; TRUE when it has none. */
  #cellAllowed(bound: BoundPermissions, opaque: boolean, table: string, column: string): Condition {
    const cond = bound.cellCondition(table, column, 'select');
    if (cond === undefined) return TRUE;
    // An opaque token's claims are unknown: a rule that reads them hides its column.
    if (opaque && this.#cellsNeedClaims.has(`${table}\u0000${column}`)) return FALSE;
    return cond;
  }

  /** The columns `ctx` may not see in the rows of the prepared `ast` (server names). */
  mask(ast: AST, ctx: QueryContext | undefined): CellMask | undefined {
    const permissions = this.#permissions;
    if (!permissions) return undefined;
    const tables = tablesOf(mapAST(ast, permissions.schema, 'client'));
    if (ctx === undefined) {
      return cellMask(strictestCellRules(permissions, tables), permissions.schema);
    }
    const opaque = this.#claims === 'opaque' && ctx.token !== undefined;
    const bound = this.bound(opaque ? {} : ctx.authData);
    if (!bound) return undefined;
    const rules: CellRule[] = [];
    for (const table of tables) {
      for (const column of bound.cellColumns(table, 'select')) {
        rules.push({table, column, allowed: this.#cellAllowed(bound, opaque, table, column)});
      }
    }
    return cellMask(rules, permissions.schema);
  }

  /**
   * A QueryPreparer for `query.ast`; anything else (name + args) passes through to
   * passThroughQueryPreparer unchanged.
   */
  readonly prepare: QueryPreparer = (query, ctx) => {
    if (!query.ast) return passThroughQueryPreparer(query, ctx);
    return Promise.resolve(this.#prepared(query.hash, query.ast, ctx));
  };

  #prepared(hash: string, ast: AST, ctx: QueryContext): PreparedQuery {
    try {
      return {ok: true, ast: this.apply(ast, ctx)};
    } catch (e) {
      if (e instanceof PermissionsError) {
        return {ok: false, error: {hash, kind: 'refused', message: e.message}};
      }
      throw e;
    }
  }

  /**
   * Runs `first` (e.g. synced-query resolution), then applies the permissions to the AST it
   * produced. Errors of `first` pass through unchanged.
   */
  after(first: QueryPreparer): QueryPreparer {
    return async (query, ctx) => {
      const prepared = await first(query, ctx);
      if (!prepared.ok) return prepared;
      return this.#prepared(query.hash, prepared.ast, ctx);
    };
  }
}

/** Every table an AST reads: root, related (junctions included) and exists subqueries. */
export function tablesOf(ast: AST, out = new Set<string>()): Set<string> {
  out.add(ast.table);
  for (const r of ast.related ?? []) tablesOf(r.subquery, out);
  if (ast.where) conditionTables(ast.where, out);
  return out;
}

function conditionTables(c: Condition, out: Set<string>): void {
  switch (c.kind) {
    case 'simple':
      return;
    case 'and':
    case 'or':
      for (const x of c.conditions) conditionTables(x, out);
      return;
    case 'exists':
      tablesOf(c.related.subquery, out);
      return;
  }
}

/** A standalone QueryPreparer: `query.ast` gets the permissions; other queries pass through. */
export function permissionsQueryPreparer(options: SelectPermissionsOptions): QueryPreparer {
  return new SelectPermissions(options).prepare;
}
