// The get-queries response of the app's API server (docs/api-server.md), validated, and
// the mapping of its per-query errors to the QueryError kinds clients see. Both answer
// shapes are read: 0.24's `['transformed', [...]]` and 1.x's `{kind: 'QueryResponse',
// userID, queries}`; a 1.x answer made for another user than the connection's is refused.
import {astSchema, type AST, type QueryError} from '@zync/protocol';
import * as v from 'valibot';

const entrySchema = v.union([
  v.object({id: v.string(), name: v.string(), ast: v.unknown()}),
  v.object({
    error: v.picklist(['app', 'zero', 'parse']),
    id: v.string(),
    name: v.optional(v.string()),
    message: v.optional(v.string()),
    details: v.optional(v.unknown()),
  }),
]);

const responseSchema = v.union([
  v.tuple([v.literal('transformed'), v.array(entrySchema)]),
  v.object({
    kind: v.literal('QueryResponse'),
    userID: v.optional(v.nullable(v.string())),
    queries: v.array(entrySchema),
  }),
  v.object({kind: v.literal('TransformFailed'), reason: v.optional(v.string())}),
  v.object({error: v.string(), status: v.optional(v.number()), details: v.optional(v.unknown())}),
]);

/**
 * The userID an API server answering for a logged-out user (`userID: null`) is taken to
 * mean: the constant API.md tells unauthenticated apps to use.
 */
export const LOGGED_OUT_USER_ID = 'anon';

/** Whether an answer's `userID` (absent: not said) fits the connection's userID. */
export function answersForUser(answered: string | null | undefined, userID: string): boolean {
  if (answered === undefined) return true;
  return (answered ?? LOGGED_OUT_USER_ID) === userID;
}

export const USER_MISMATCH_MESSAGE =
  "The API server answered for another user than the connection's userID";

/** What became of one synced query: its AST in server names, or an error to show. */
export type Transformed =
  | {readonly ok: true; readonly ast: AST}
  | {readonly ok: false; readonly error: Omit<QueryError, 'hash'>; readonly cacheable: boolean};

const MAX_MESSAGE = 500;

export function transformFailed(message: string): Transformed {
  return {ok: false, error: {kind: 'transform-failed', message}, cacheable: false};
}

/**
 * The kind of an `app` error. The API server only says `details` (the resolver's message):
 * "unknown query name" is its fixed text for an unresolved name; messages about arguments
 * (parseArgs/withValidation, `bad args: …`) are bad args; anything else the app threw is a
 * refusal (e.g. access denied for this user).
 */
function appErrorKind(details: string): QueryError['kind'] {
  if (/^unknown query name$|^query not found\b/i.test(details)) return 'unknown-query';
  if (/\bargs?\b|\bargument|\bparse|\bvalidat|\bexpected\b|\binvalid\b/i.test(details)) {
    return 'bad-args';
  }
  return 'refused';
}

function fromEntry(entry: v.InferOutput<typeof entrySchema>): Transformed {
  if ('error' in entry) {
    const said = entry.message ?? entry.details;
    const details = typeof said === 'string' ? said.slice(0, MAX_MESSAGE) : undefined;
    if (entry.error === 'zero') {
      return {
        ok: false,
        error: {
          kind: 'transform-failed',
          message: `The API server could not transform the query${details ? `: ${details}` : ''}`,
        },
        cacheable: true,
      };
    }
    const text = details ?? 'The API server refused the query';
    const kind = entry.error === 'parse' ? 'bad-args' : appErrorKind(text);
    return {ok: false, error: {kind, message: text}, cacheable: true};
  }
  const ast = v.safeParse(astSchema, entry.ast);
  if (!ast.success) return transformFailed('The API server answered a query with an invalid AST');
  return {ok: true, ast: ast.output};
}

/**
 * Reads a response body for the requested ids. Every requested id gets a result; a body
 * that is not a transform response, or one made for another user than `userID`, fails
 * them all (not cached: a later try may work). `mismatch` says the latter happened.
 */
export function readGetQueriesResponse(
  json: unknown,
  ids: readonly string[],
  userID: string,
): {readonly results: Map<string, Transformed>; readonly mismatch: boolean} {
  const out = new Map<string, Transformed>();
  const failAll = (message: string, mismatch = false) => {
    const failed = transformFailed(message);
    for (const id of ids) out.set(id, failed);
    return {results: out, mismatch};
  };
  const parsed = v.safeParse(responseSchema, json);
  if (!parsed.success) return failAll('The API server refused the get-queries request');
  const body = parsed.output;
  let entries: v.InferOutput<typeof entrySchema>[];
  if (Array.isArray(body)) {
    entries = body[1];
  } else if ('queries' in body) {
    if (!answersForUser(body.userID, userID)) {
      const refused: Transformed = {
        ok: false,
        error: {kind: 'refused', message: USER_MISMATCH_MESSAGE},
        cacheable: false,
      };
      for (const id of ids) out.set(id, refused);
      return {results: out, mismatch: true};
    }
    entries = body.queries;
  } else {
    const code = 'error' in body ? body.error : `${body.kind} ${body.reason ?? ''}`.trim();
    return failAll(
      `The API server refused the get-queries request (${code.replace(/[^ A-Za-z0-9_]/g, '')})`,
    );
  }
  const wanted = new Set(ids);
  for (const entry of entries) {
    if (wanted.has(entry.id) && !out.has(entry.id)) out.set(entry.id, fromEntry(entry));
  }
  for (const id of ids) {
    if (!out.has(id)) out.set(id, transformFailed('The API server did not answer for the query'));
  }
  return {results: out, mismatch: false};
}
