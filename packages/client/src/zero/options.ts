import type {LogLevel} from '@zync/shared';
import type {DefaultContext, Schema} from '@zync/zql';
import type {AuthOption} from '../connection/auth-source.ts';
import type {SocketFactory} from '../connection/connection.ts';
import type {StoreProvider} from '../kv/store.ts';

/** Why the client needs an update (the server's error kind and its message). */
export type UpdateNeededReason = {
  readonly type: 'VersionNotSupported' | 'SchemaVersionNotSupported';
  readonly message?: string | undefined;
};

export type ZeroOptions<S extends Schema, MD = unknown, C = DefaultContext> = {
  /** zero-cache URL `http(s)://host[:port][/one-segment]`; null: local only. */
  server?: string | null | undefined;
  /** The Zero 1.x name of `server`. */
  cacheURL?: string | null | undefined;
  /**
   * Scopes local storage; equals the JWT's `sub` with JWT auth. Zero 1.x apps omit it (or
   * pass null) when logged out: the client is then the anonymous user `'anon'`.
   */
  userID?: string | null | undefined;
  auth?: AuthOption | null | undefined;
  /** Passed as `ctx` to defined queries and mutators run on this client. */
  context?: C | undefined;
  storageKey?: string | undefined;
  kvStore?: 'idb' | 'mem' | StoreProvider | undefined;
  schema: S;
  mutators?: MD | undefined;
  logLevel?: LogLevel | undefined;
  onOnlineChange?: ((online: boolean) => void) | undefined;
  /**
   * zero-cache no longer speaks this client's protocol, or its replica does not match the
   * schema; the client stopped connecting. Default (as Zero): reload the page in a browser.
   */
  onUpdateNeeded?: ((reason: UpdateNeededReason) => void) | undefined;
  /**
   * zero-cache no longer has state for this client group (purged after inactivity); the
   * client dropped its synced data and syncs again from nothing. Default (as Zero): reload
   * the page in a browser.
   */
  onClientStateNotFound?: (() => void) | undefined;
  hiddenTabDisconnectDelay?: number | undefined;
  /** Beyond: how sockets are made (tests, non-browser runtimes). Default: global WebSocket. */
  createSocket?: SocketFactory | undefined;
};

/** The user of a client whose app passes no userID (Zero 1.x's logged-out clients). */
export const ANONYMOUS_USER_ID = 'anon';

/**
 * Options in one form: `cacheURL` folded into `server`, a missing userID made anonymous,
 * a null auth dropped. Checks them first, with errors that say what to fix.
 */
export function normalizeOptions<S extends Schema, MD, C>(
  o: ZeroOptions<S, MD, C>,
): ZeroOptions<S, MD, C> & {userID: string; auth?: AuthOption | undefined} {
  validateOptions(o);
  const {cacheURL, auth, userID, ...rest} = o;
  const server = o.server === undefined ? cacheURL : o.server;
  return {
    ...rest,
    ...(server === undefined ? {} : {server}),
    ...(auth === null || auth === undefined ? {} : {auth}),
    userID: userID ?? ANONYMOUS_USER_ID,
  };
}

function validateOptions(o: ZeroOptions<Schema, unknown, unknown>): void {
  if (!o || typeof o !== 'object') throw new TypeError('new Zero(options): options are required');
  if (o.userID === undefined || o.userID === null) {
    if (o.auth !== undefined && o.auth !== null) {
      throw new TypeError('Zero: userID is required when auth is set');
    }
  } else if (typeof o.userID !== 'string' || o.userID === '') {
    throw new TypeError(
      'Zero: userID must be a non-empty string; omit it (or pass null) for logged-out clients',
    );
  }
  if (o.server !== undefined && o.cacheURL !== undefined && o.server !== o.cacheURL) {
    throw new TypeError('Zero: cacheURL and server name the same URL; pass only one of them');
  }
  if (!o.schema || typeof o.schema !== 'object' || typeof o.schema.tables !== 'object') {
    throw new TypeError('Zero: schema is required (from createSchema)');
  }
  const server = o.server === undefined ? o.cacheURL : o.server;
  if (server !== undefined && server !== null) {
    if (typeof server !== 'string') throw new TypeError('Zero: server must be a string or null');
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new TypeError('Zero: server must be a URL like http://localhost:4848');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError('Zero: server must start with http:// or https://');
    }
    if (url.pathname.replace(/\/+$/, '').split('/').length > 2) {
      throw new TypeError('Zero: server may have at most one path segment');
    }
  }
  if (
    o.auth !== undefined &&
    o.auth !== null &&
    typeof o.auth !== 'string' &&
    typeof o.auth !== 'function'
  ) {
    throw new TypeError('Zero: auth must be a string or a function returning a token');
  }
  for (const name of ['onUpdateNeeded', 'onClientStateNotFound', 'onOnlineChange'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') {
      throw new TypeError(`Zero: ${name} must be a function`);
    }
  }
  if (o.storageKey !== undefined && typeof o.storageKey !== 'string') {
    throw new TypeError('Zero: storageKey must be a string');
  }
}
