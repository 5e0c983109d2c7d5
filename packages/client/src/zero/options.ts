import type {LogLevel} from '@zync/shared';
import type {Schema} from '@zync/zql';
import type {AuthOption} from '../connection/auth-source.ts';
import type {SocketFactory} from '../connection/connection.ts';
import type {StoreProvider} from '../kv/store.ts';

/** Why the client needs an update (the server's error kind and its message). */
export type UpdateNeededReason = {
  readonly type: 'VersionNotSupported' | 'SchemaVersionNotSupported';
  readonly message?: string | undefined;
};

export type ZeroOptions<S extends Schema, MD = unknown> = {
  /** zero-cache URL `http(s)://host[:port][/one-segment]`; null: local only. */
  server?: string | null | undefined;
  userID: string;
  auth?: AuthOption | undefined;
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

/** Checks the options an app passes, with errors that say what to fix. */
export function validateOptions(o: ZeroOptions<Schema, unknown>): void {
  if (!o || typeof o !== 'object') throw new TypeError('new Zero(options): options are required');
  if (typeof o.userID !== 'string' || o.userID === '') {
    throw new TypeError(
      "Zero: userID must be a non-empty string (use a constant such as 'anon' without auth)",
    );
  }
  if (!o.schema || typeof o.schema !== 'object' || typeof o.schema.tables !== 'object') {
    throw new TypeError('Zero: schema is required (from createSchema)');
  }
  if (o.server !== undefined && o.server !== null) {
    if (typeof o.server !== 'string') throw new TypeError('Zero: server must be a string or null');
    let url: URL;
    try {
      url = new URL(o.server);
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
  if (o.auth !== undefined && typeof o.auth !== 'string' && typeof o.auth !== 'function') {
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
