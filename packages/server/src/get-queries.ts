// `handleGetQueriesRequest`: zero-cache asks the app's API server to turn synced queries
// `(name, args)` into ASTs for the current user. Each query is resolved on its own; one
// that fails gives that query alone an error. This is the 0.24 answer shape; the 1.x
// `handleQueryRequest` (query-request.ts) answers the same request in Zero 1.x's shape.
import type {AST} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '@zync/zql';
import {parseTransformItems, readJSONBody, resolveQueries} from './resolve-queries.ts';

export type GetQueriesRequestItem = {
  readonly id: string;
  readonly name: string;
  readonly args: readonly ReadonlyJSONValue[];
};

export type TransformedQuery = {readonly id: string; readonly name: string; readonly ast: AST};
export type QueryError = {
  readonly error: 'app' | 'zero';
  readonly id: string;
  readonly name: string;
  /** What went wrong, as a string (Zero's shape). */
  readonly details: string;
};
export type GetQueriesResponse =
  | readonly ['transformed', readonly (TransformedQuery | QueryError)[]]
  | {readonly error: 'http'; readonly status: 400; readonly details: string};

type Resolved = {readonly query: unknown} | null | undefined;

function invalid(details: string): GetQueriesResponse {
  return {error: 'http', status: 400, details: `invalid get-queries request: ${details}`};
}

/**
 * Resolves every query of the request with `cb` (in parallel; `cb` may return a promise)
 * and returns the response body: `['transformed', [...]]` with, per query, its AST in
 * server names or an error. `cb` returning nothing means "unknown query name".
 */
export async function handleGetQueriesRequest<S extends Schema>(
  cb: (name: string, args: readonly ReadonlyJSONValue[]) => Resolved | Promise<Resolved>,
  schema: S,
  requestOrBody: Request | ReadonlyJSONValue,
): Promise<GetQueriesResponse> {
  const read = await readJSONBody(requestOrBody);
  if (!read.ok) return invalid('the body must be JSON');
  const items = parseTransformItems(read.body);
  if (typeof items === 'string') return invalid(items);
  const resolved = await resolveQueries(
    items,
    async ({name, args}) => {
      const r = await cb(name, args);
      return r === null || r === undefined ? r : {query: r.query};
    },
    schema,
  );
  return [
    'transformed',
    resolved.map((r): TransformedQuery | QueryError => {
      if ('ast' in r) return r;
      const internal = r.failure === 'notAQuery' || r.failure === 'schema';
      return {error: internal ? 'zero' : 'app', id: r.id, name: r.name, details: r.message};
    }),
  ];
}
