import * as v from 'valibot';

/** Every kind of error the server may report in an `error` frame. */
export const ERROR_KINDS = [
  /** The token is missing where required, fails verification, expired, or names another user. */
  'AuthInvalidated',
  /** The token is valid but the user may not do this (e.g. another user's client group). */
  'Unauthorized',
  /** The server no longer has state for this client group; the client must reset. */
  'ClientNotFound',
  /** A frame failed validation or broke the protocol's rules (e.g. out-of-order mutation ids). */
  'InvalidMessage',
  /** A frame was larger than the server accepts. */
  'MessageTooLarge',
  /** The first frame was not a valid `connect`. */
  'InvalidConnectionRequest',
  /** The client speaks a protocol version this server does not. */
  'VersionNotSupported',
  /** The client's schema does not match the replica (missing table or column). */
  'SchemaVersionNotSupported',
  /** A push could not be processed (the API server is unreachable and retries ran out). */
  'PushFailed',
  /** The connection's send buffer overflowed because the client reads too slowly. */
  'ServerOverloaded',
  /** The origin of the WebSocket upgrade is not allowed. */
  'OriginNotAllowed',
  /** Anything else; the message says what. */
  'Internal',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export const errorKindSchema = v.picklist(ERROR_KINDS);

export const errorBodySchema = v.strictObject({
  kind: errorKindSchema,
  /** Human-readable, never containing tokens, secrets or row data. */
  message: v.string(),
});
export type ErrorBody = v.InferOutput<typeof errorBodySchema>;

/** A protocol-level error: a frame that could not be decoded or validated. */
export class ProtocolError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'ProtocolError';
    this.kind = kind;
  }
}
