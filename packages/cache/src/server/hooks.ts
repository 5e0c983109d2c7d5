// The two collaborators that later work fills in: authentication of a connection, and
// processing of pushed mutations. The defaults let a server run without either.
import type {IncomingMessage} from 'node:http';
import type {ConnectBody, ErrorKind, PushBody, PushResponseBody} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {QueryContext} from '../view-syncer/group-client.ts';
import type {AuthFailureKind} from '../metrics/metrics.ts';

export type AuthResult =
  | {
      readonly ok: true;
      /** The token's claims (`{}` for anonymous connections). */
      readonly authData: Readonly<Record<string, ReadonlyJSONValue>>;
      /** The token's expiry in epoch ms, or null. */
      readonly tokenExpiresAt: number | null;
      /**
       * The verified subject of the token (its `sub`), when it was verified. A client group
       * is bound to it (auth/group-identity.ts); leave it out for unverified credentials.
       */
      readonly identity?: string | undefined;
    }
  | {
      readonly ok: false;
      readonly kind: ErrorKind;
      readonly message: string;
      /** Why, as the auth failures metric counts it (default `other`). */
      readonly reason?: AuthFailureKind | undefined;
    };

/**
 * Checks a connection's token before it is accepted, and again on `updateAuth` (with
 * `connect.auth` replaced by the new token). The message of a failure is sent to the client:
 * it must not contain the token.
 */
export type Authenticator = (connect: ConnectBody, upgrade: IncomingMessage) => Promise<AuthResult>;

export const anonymousAuthenticator: Authenticator = () =>
  Promise.resolve({ok: true, authData: {}, tokenExpiresAt: null});

export type PushContext = QueryContext & {
  /** The WebSocket upgrade request (its Cookie header, if cookies are to be forwarded). */
  readonly upgrade: IncomingMessage;
  /** The connection's token now (it may be refreshed while a push is retried). */
  readonly currentToken?: (() => string | undefined) | undefined;
  /** Whether the connection is still open (retries stop when it is not). */
  readonly live?: (() => boolean) | undefined;
};

/** Processes a validated `push` frame and answers the outcome of each mutation. */
export interface Pusher {
  push(body: PushBody, ctx: PushContext): Promise<PushResponseBody>;
}

/** Refuses every mutation (until a real pusher is wired in). */
export const unsupportedPusher: Pusher = {
  push: body =>
    Promise.resolve({
      mutations: body.mutations.map(m => ({
        clientID: m.clientID,
        id: m.id,
        result: {type: 'error', error: 'zero', message: 'Mutations are not supported yet'},
      })),
    }),
};
