// `handleQueryRequest` (Zero 1.x): answers zero-cache's transform request for defined
// queries. zero-cache sends each call as `{id, name, args}` with `args` holding the one
// args value (`[]` when the query takes none); the handler receives that value, looks the
// query up (typically `mustGetQuery(queries, name).fn({args, ctx})`, which validates the
// args) and returns the query. A handler that throws fails that query alone. The answer
// names the user it was made for, so zero-cache can check it against the connection's.
import type {AST} from '@zync/protocol';
import type {LogLevel, ReadonlyJSONValue} from '@zync/shared';
import type {AnyQuery, Schema} from '@zync/zql';
import {parseTransformItems, readJSONBody, resolveQueries} from './resolve-queries.ts';

type MaybePromise<T> = T | Promise<T>;

/** Turns one named call into its query: `args` is the call's one args value. */
export type QueryRequestHandler = (
  name: string,
  args: ReadonlyJSONValue | undefined,
) => MaybePromise<AnyQuery | {readonly query: AnyQuery}>;
/** Zero 1.x's former name of QueryRequestHandler. */
export type TransformQueryFunction = QueryRequestHandler;

export type QuerySearchParams = URLSearchParams | Record<string, string>;

export type HandleQueryRequestArgs<S extends Schema> = {
  readonly handler: QueryRequestHandler;
  readonly schema: S;
  /** The authenticated user, or null/undefined when logged out. Echoed to zero-cache. */
  readonly userID: string | null | undefined;
  /** Accepted for Zero 1.x compatibility; this helper logs nothing. */
  readonly logLevel?: LogLevel | undefined;
} & (
  | {readonly request: Request}
  | {readonly query: QuerySearchParams; readonly body: ReadonlyJSONValue}
);

export type QueryResultEntry =
  | {readonly id: string; readonly name: string; readonly ast: AST}
  | {
      readonly error: 'app' | 'parse';
      readonly id: string;
      readonly name: string;
      readonly message: string;
      readonly details?: ReadonlyJSONValue;
    };

export type QueryResponse =
  | {
      readonly kind: 'QueryResponse';
      readonly userID?: string | null;
      readonly queries: readonly QueryResultEntry[];
    }
  | {
      readonly kind: 'TransformFailed';
      readonly origin: 'server';
      readonly reason: 'parse' | 'internal';
      readonly message: string;
      readonly queryIDs: readonly string[];
    };

function parseFailure(message: string): QueryResponse {
  return {
    kind: 'TransformFailed',
    origin: 'server',
    reason: 'parse',
    message: `invalid query request: ${message}`,
    queryIDs: [],
  };
}

/** Answers a transform request: `handleQueryRequest({handler, schema, request, userID})`. */
export function handleQueryRequest<S extends Schema>(
  input: HandleQueryRequestArgs<S>,
): Promise<QueryResponse>;
/** The positional form Zero 1.x also accepts (no userID is echoed). */
export function handleQueryRequest<S extends Schema>(
  handler: QueryRequestHandler,
  schema: S,
  requestOrBody: Request | ReadonlyJSONValue,
  logLevel?: LogLevel,
): Promise<QueryResponse>;
export async function handleQueryRequest<S extends Schema>(
  inputOrHandler: HandleQueryRequestArgs<S> | QueryRequestHandler,
  schemaArg?: S,
  requestOrBody?: Request | ReadonlyJSONValue,
): Promise<QueryResponse> {
  const input =
    typeof inputOrHandler === 'function'
      ? {handler: inputOrHandler, schema: schemaArg, userID: undefined, source: requestOrBody}
      : {
          handler: inputOrHandler.handler,
          schema: inputOrHandler.schema,
          // The object form always names the user; undefined means logged out, like null.
          userID: inputOrHandler.userID ?? null,
          source: 'request' in inputOrHandler ? inputOrHandler.request : inputOrHandler.body,
        };
  if (typeof input.handler !== 'function') {
    throw new TypeError('handleQueryRequest: handler must be a function');
  }
  if (typeof input.schema !== 'object' || input.schema === null) {
    throw new TypeError('handleQueryRequest: schema is required');
  }
  if (input.userID !== undefined && input.userID !== null && typeof input.userID !== 'string') {
    throw new TypeError('handleQueryRequest: userID must be a string, null or undefined');
  }
  if (input.source === undefined) {
    throw new TypeError('handleQueryRequest: a request or a body is required');
  }

  const read = await readJSONBody(input.source);
  if (!read.ok) return parseFailure('the body must be JSON');
  const items = parseTransformItems(read.body);
  if (typeof items === 'string') return parseFailure(items);
  const handler = input.handler;
  const resolved = await resolveQueries(
    items,
    ({name, args}) => {
      // 1.x sends the one args value as a one-element list (or none when there are none).
      if (args.length > 1) throw new TypeError('bad args: a defined query takes one args value');
      return handler(name, args[0]);
    },
    input.schema,
  );
  const queries = resolved.map((r): QueryResultEntry => {
    if ('ast' in r) return r;
    return {
      error: r.failure === 'parse' || r.failure === 'badArgs' ? 'parse' : 'app',
      id: r.id,
      name: r.name,
      message: r.failure === 'unknown' ? `Query not found: ${r.name}` : r.message,
      ...(r.details === undefined ? {} : {details: r.details}),
    };
  });
  return {
    kind: 'QueryResponse',
    queries,
    ...(input.userID === undefined ? {} : {userID: input.userID}),
  };
}
