// The get-queries response of the app's API server (docs/api-server.md), validated, and
// the mapping of its per-query errors to the QueryError kinds clients see.
import {astSchema, type AST, type QueryError} from '@zync/protocol';
import * as v from 'valibot';

const entrySchema = v.union([
  v.object({id: v.string(), name: v.string(), ast: v.unknown()}),
  v.object({
    error: v.picklist(['app', 'zero']),
    id: v.string(),
    name: v.optional(v.string()),
    details: v.optional(v.unknown()),
  }),
]);

const responseSchema = v.union([
  v.tuple([v.literal('transformed'), v.array(entrySchema)]),
  v.object({error: v.string(), status: v.optional(v.number()), details: v.optional(v.unknown())}),
]);

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
  if (/^unknown query name$/i.test(details)) return 'unknown-query';
  if (/\bargs?\b|\bargument|\bparse|\bvalidat|\bexpected\b|\binvalid\b/i.test(details)) {
    return 'bad-args';
  }
  return 'refused';
}

function fromEntry(entry: v.InferOutput<typeof entrySchema>): Transformed {
  if ('error' in entry) {
    const details =
      typeof entry.details === 'string' ? entry.details.slice(0, MAX_MESSAGE) : undefined;
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
    return {ok: false, error: {kind: appErrorKind(text), message: text}, cacheable: true};
  }
  const ast = v.safeParse(astSchema, entry.ast);
  if (!ast.success) return transformFailed('The API server answered a query with an invalid AST');
  return {ok: true, ast: ast.output};
}

/**
 * Reads a response body for the requested ids. Every requested id gets a result; a body
 * that is not a transform response fails them all (not cached: a later try may work).
 */
export function readGetQueriesResponse(
  json: unknown,
  ids: readonly string[],
): Map<string, Transformed> {
  const out = new Map<string, Transformed>();
  const parsed = v.safeParse(responseSchema, json);
  if (!parsed.success || !Array.isArray(parsed.output)) {
    const code = parsed.success && !Array.isArray(parsed.output) ? ` (${parsed.output.error})` : '';
    const failed = transformFailed(
      `The API server refused the get-queries request${code.replace(/[^ ()A-Za-z0-9_]/g, '')}`,
    );
    for (const id of ids) out.set(id, failed);
    return out;
  }
  const wanted = new Set(ids);
  for (const entry of parsed.output[1]) {
    if (wanted.has(entry.id) && !out.has(entry.id)) out.set(entry.id, fromEntry(entry));
  }
  for (const id of ids) {
    if (!out.has(id)) out.set(id, transformFailed('The API server did not answer for the query'));
  }
  return out;
}
