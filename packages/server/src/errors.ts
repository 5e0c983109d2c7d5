// The one error class of the API-server helpers. Messages say what was expected, never the
// value received: no token, cookie or row data ever appears in them.

export type ServerErrorKind =
  /** The push or get-queries request does not have the documented shape. */
  | 'invalidRequest'
  /** A mutation id is beyond the client's last mutation id + 1. */
  | 'oooMutation'
  /** A mutation id is at or below the client's last mutation id. */
  | 'alreadyProcessed'
  /** No server mutator of that name. */
  | 'unknownMutator'
  /** A table or column the schema or the database does not know. */
  | 'schema'
  /** A ZQL query that Postgres cannot evaluate exactly as clients do (see docs/zql.md). */
  | 'query'
  /** The database failed outside any mutator (connection, last-mutation-id table). */
  | 'database';

export class ServerError extends Error {
  readonly kind: ServerErrorKind;

  constructor(kind: ServerErrorKind, message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'ServerError';
    this.kind = kind;
  }
}

/** A message fit to return to a caller: the app's own error message, or a generic one. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  return 'unknown error';
}
