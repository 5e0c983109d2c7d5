// Parses a transform request (zero-cache's get-queries call) and resolves each named query
// to an AST in server names. Shared by `handleGetQueriesRequest` (0.24 answer shape) and
// `handleQueryRequest` (1.x answer shape), which differ only in how they answer.
import type {AST} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import {mapAST, type Schema} from '@zync/zql';
import {errorMessage} from './errors.ts';

export type TransformRequestItem = {
  readonly id: string;
  readonly name: string;
  readonly args: readonly ReadonlyJSONValue[];
};

/** Why one query could not be resolved. `unknown`: the resolver returned nothing. */
export type ResolveFailure = 'badArgs' | 'unknown' | 'threw' | 'parse' | 'notAQuery' | 'schema';

export type ResolvedItem =
  | {readonly id: string; readonly name: string; readonly ast: AST}
  | {
      readonly id: string;
      readonly name: string;
      readonly failure: ResolveFailure;
      readonly message: string;
      readonly details?: ReadonlyJSONValue | undefined;
    };

export type Resolver = (item: TransformRequestItem) => unknown;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One item as received: `args` is checked per item, so a bad one fails that query alone. */
export type ReceivedItem = {readonly id: string; readonly name: string; readonly args: unknown};

/** The request's items, or a message saying what was expected. */
export function parseTransformItems(body: unknown): ReceivedItem[] | string {
  // Zero sends ['transform', [...]]; a bare list is accepted too.
  const list: unknown =
    Array.isArray(body) && body[0] === 'transform' ? (body[1] as unknown) : body;
  if (!Array.isArray(list)) return 'the body must be ["transform", [{id, name, args}, ...]]';
  const items: ReceivedItem[] = [];
  for (const [i, item] of list.entries()) {
    if (!isObject(item) || typeof item['id'] !== 'string' || typeof item['name'] !== 'string') {
      return `item ${i} must be an object with string id and name`;
    }
    items.push({id: item['id'], name: item['name'], args: item['args'] ?? []});
  }
  return items;
}

/** The request's JSON body: read from a Fetch Request, or given already parsed. */
export async function readJSONBody(
  requestOrBody: Request | ReadonlyJSONValue,
): Promise<{ok: true; body: unknown} | {ok: false}> {
  if (typeof Request !== 'undefined' && requestOrBody instanceof Request) {
    try {
      return {ok: true, body: JSON.parse(await requestOrBody.text()) as unknown};
    } catch {
      return {ok: false};
    }
  }
  return {ok: true, body: requestOrBody};
}

function astOf(query: unknown): AST | undefined {
  const ast = (query as {ast?: unknown} | null)?.ast;
  return isObject(ast) && ast['kind'] === 'query' && typeof ast['table'] === 'string'
    ? (ast as AST)
    : undefined;
}

function detailsOf(e: unknown): ReadonlyJSONValue | undefined {
  const details = (e as {details?: unknown} | null)?.details;
  if (details === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(details)) as ReadonlyJSONValue;
  } catch {
    return undefined;
  }
}

/**
 * Resolves every item with `resolve` (in parallel; it may return a promise of a query or of
 * `{query}`), mapping each AST to the schema's server names. Nothing here throws: a failure
 * belongs to its item alone.
 */
export function resolveQueries(
  items: readonly ReceivedItem[],
  resolve: Resolver,
  schema: Schema,
): Promise<ResolvedItem[]> {
  return Promise.all(
    items.map(async ({id, name, args}): Promise<ResolvedItem> => {
      if (!Array.isArray(args)) {
        return {id, name, failure: 'badArgs', message: 'bad args: args must be an array'};
      }
      let result: unknown;
      try {
        result = await resolve({id, name, args: args as ReadonlyJSONValue[]});
      } catch (e) {
        // Argument validation failures are "parse" errors in Zero's vocabulary.
        const parse = e instanceof Error && e.name === 'QueryParseError';
        const details = detailsOf(e);
        return {
          id,
          name,
          failure: parse ? 'parse' : 'threw',
          message: errorMessage(e),
          ...(details === undefined ? {} : {details}),
        };
      }
      if (result === null || result === undefined) {
        return {id, name, failure: 'unknown', message: 'unknown query name'};
      }
      const ast = astOf(result) ?? (isObject(result) ? astOf(result['query']) : undefined);
      if (!ast) {
        return {id, name, failure: 'notAQuery', message: 'the resolver did not return a query'};
      }
      try {
        return {id, name, ast: mapAST(ast, schema, 'server')};
      } catch {
        return {id, name, failure: 'schema', message: 'the query does not match the schema'};
      }
    }),
  );
}
