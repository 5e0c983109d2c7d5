// The legacy (0.24) API on zero-cache: raw ZQL queries sent as ASTs, and CRUD mutations.
// An app written only with Zero 1.x's defined queries and mutators turns them off with the
// schema's `enableLegacyQueries: false` / `enableLegacyMutators: false`, or with
// ZERO_LEGACY_API=false; nothing raw is then accepted from clients.
import type {QueryPreparer} from '../view-syncer/group-client.ts';

export type LegacyAPI = {
  /** Raw ZQL queries (an AST from the client) are accepted. */
  readonly queries: boolean;
  /** CRUD mutations are accepted. */
  readonly mutators: boolean;
};

export const LEGACY_QUERY_REFUSAL =
  'Raw ZQL queries are turned off for this app (enableLegacyQueries: false or ' +
  'ZERO_LEGACY_API=false): use a defined query';

export const LEGACY_CRUD_REFUSAL =
  'CRUD mutations are turned off for this app (enableLegacyMutators: false or ' +
  'ZERO_LEGACY_API=false): use a defined mutator';

/**
 * The app's choice. The schema object is the one the schema file exports; it comes from the
 * app's own copy of the package, so its flags are read as plain optional booleans. Absent
 * flags leave the legacy API on, as 0.24 apps expect; the setting can only turn it off.
 */
export function legacyAPI(setting: boolean | undefined, schema: unknown): LegacyAPI {
  const flag = (name: string): boolean => {
    const v: unknown =
      typeof schema === 'object' && schema !== null
        ? (schema as Record<string, unknown>)[name]
        : undefined;
    return v !== false;
  };
  const on = setting !== false;
  return {
    queries: on && flag('enableLegacyQueries'),
    mutators: on && flag('enableLegacyMutators'),
  };
}

/** Refuses queries that arrive as a raw AST; named queries go on to `next`. */
export function refuseRawQueries(next: QueryPreparer): QueryPreparer {
  return (query, ctx) =>
    query.name === undefined
      ? Promise.resolve({
          ok: false,
          error: {hash: query.hash, kind: 'refused', message: LEGACY_QUERY_REFUSAL},
        })
      : next(query, ctx);
}
