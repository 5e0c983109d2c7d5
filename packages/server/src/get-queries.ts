// `handleGetQueriesRequest`: zero-cache asks the app's API server to turn synced queries
// `(name, args)` into ASTs for the current user. Each query is resolved on its own; one
// that fails gives that query alone an error.
import type {AST} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import {mapAST, type Schema} from '@zync/zql';
import {errorMessage} from './errors.ts';

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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(details: string): GetQueriesResponse {
  return {error: 'http', status: 400, details: `invalid get-queries request: ${details}`};
}

/** The request's items, or a message saying what was expected. */
function parseItems(body: unknown): unknown[] | string {
  // Zero sends ['transform', [...]]; a bare list is accepted too.
  const list: unknown =
    Array.isArray(body) && body[0] === 'transform' ? (body[1] as unknown) : body;
  if (!Array.isArray(list)) return 'the body must be ["transform", [{id, name, args}, ...]]';
  for (const [i, item] of list.entries()) {
    if (!isObject(item) || typeof item['id'] !== 'string' || typeof item['name'] !== 'string') {
      return `item ${i} must be an object with string id and name`;
    }
  }
  return list as unknown[];
}

function astOf(query: unknown): AST | undefined {
  const ast = (query as {ast?: unknown} | null)?.ast;
  return isObject(ast) && ast['kind'] === 'query' && typeof ast['table'] === 'string'
    ? (ast as AST)
    : undefined;
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
  let body: unknown = requestOrBody;
  if (typeof Request !== 'undefined' && requestOrBody instanceof Request) {
    try {
      body = JSON.parse(await requestOrBody.text()) as unknown;
    } catch {
      return invalid('the body must be JSON');
    }
  }
  const items = parseItems(body);
  if (typeof items === 'string') return invalid(items);

  const results = await Promise.all(
    (items as Record<string, unknown>[]).map(async item => {
      const id = item['id'] as string;
      const name = item['name'] as string;
      const fail = (error: 'app' | 'zero', details: string): QueryError => ({
        error,
        id,
        name,
        details,
      });
      const args = item['args'] ?? [];
      if (!Array.isArray(args)) return fail('app', 'bad args: args must be an array');
      let resolved: Resolved;
      try {
        resolved = await cb(name, args as ReadonlyJSONValue[]);
      } catch (e) {
        return fail('app', errorMessage(e));
      }
      if (resolved === null || resolved === undefined) {
        return fail('app', `unknown query name`);
      }
      const ast = astOf(resolved.query);
      if (!ast) return fail('zero', 'the resolver did not return a query');
      try {
        return {id, name, ast: mapAST(ast, schema, 'server')};
      } catch {
        return fail('zero', 'the query does not match the schema');
      }
    }),
  );
  return ['transformed', results];
}
