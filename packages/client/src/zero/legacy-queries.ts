// Zero 1.x schemas may turn off legacy queries (`enableLegacyQueries: false`): the client
// then syncs only defined queries. A query without a name is refused before anything is
// sent; `zero.query.<table>` says so when it is touched.
import type {AnyQueryLike, Schema} from '@zync/zql';
import {legacyQueriesEnabled} from '@zync/zql';

const FIX = 'define it with defineQueries, or set enableLegacyQueries: true in createSchema';

/** `zero.query` for a schema with legacy queries off: every table throws a TypeError. */
export function refusingQueryRoots(schema: Schema): unknown {
  const roots = {};
  for (const table of Object.keys(schema.tables)) {
    Object.defineProperty(roots, table, {
      enumerable: true,
      get() {
        throw new TypeError(
          `zero.query.${table}: legacy queries are off (enableLegacyQueries: false); ${FIX}`,
        );
      },
    });
  }
  return Object.freeze(roots);
}

/** Throws when `query` would be synced by AST while the schema allows only named queries. */
export function assertSyncable(schema: Schema, query: AnyQueryLike, what: string): void {
  if (query.customQueryID === undefined && !legacyQueriesEnabled(schema)) {
    throw new TypeError(`zero.${what}: this query has no name and legacy queries are off; ${FIX}`);
  }
}
