// Owns one WebSocket at a time: connects, authenticates in the first frame, pings, backs
// off and reconnects, refreshes the token before it expires, and reports its state.
import type {ConnectBody, DownstreamFrame, ErrorKind, UpstreamFrame} from '@zync/protocol';
import {decodeDownstream, encodeFrame, ProtocolError, SYNC_PATH} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import type {AuthSource} from './auth-source.ts';
import {backoffDelayMs} from './backoff.ts';
import type {ConnectionStateStore} from './connection-state.ts';
import {jwtExpiryMs} from './jwt.ts';

/** The subset of the browser WebSocket the client uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: {data: unknown}) => void) | null;
  onclose: ((ev: {code: number; reason: string}) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionOptions = {
  server: string;
  auth: AuthSource;
  state: ConnectionStateStore;
  logger: Logger;
  buildConnect: (auth: string | undefined) => ConnectBody | Promise<ConnectBody>;
  /** Every frame except `connected`, `pong` and auth errors, which the connection handles. */
  onFrame: (frame: DownstreamFrame) => void;
  onConnected?: (() => void) | undefined;
  createSocket?: SocketFactory | undefined;
  /**
   * Query parameters of the socket URL, read at each connect: zero-cache (its dispatcher, or
   * a load balancer in front of several nodes) routes a socket to the process that owns its
   * client group by `clientGroupID`. A promise delays the socket until it settles.
   */
  urlParams?: (() => Record<string, string> | Promise<Record<string, string>>) | undefined;
  hiddenTabDisconnectDelayMs?: number | undefined;
  pingIntervalMs?: number | undefined;
  pongTimeoutMs?: number | undefined;
  connectTimeoutMs?: number | undefined;
  /** Refresh a JWT this long before its `exp`. */
  refreshLeadMs?: number | undefined;
};

/** Error kinds after which retrying cannot help. */
const FATAL_KINDS: ReadonlySet<ErrorKind> = new Set([
  'VersionNotSupported',
  'SchemaVersionNotSupported',
  'OriginNotAllowed',
  'Unauthorized',
]);

const OPEN = 1;
/**
 * Close code of a server that is restarting (draining its sockets): connect again at once,
 * without backoff, to whatever now serves the group.
 */
const SERVICE_RESTART = 1012;

export function toWebSocketURL(server: string): string {
  const url = new URL(server);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = `${base}${SYNC_PATH}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

export class Connection {
  readonly #o: ConnectionOptions;
  readonly #url: string;
  #socket: SocketLike | undefined;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #hiddenTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #hidden = false;
  #closed = false;
  #epoch = 0;
  #lastReceivedAt = 0;
  /** Whether the socket was accepted (`connected`) since the last open. */
  #wasConnected = false;

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#url = toWebSocketURL(options.server);
  }

  get isConnected(): boolean {
    return this.#o.state.current.name === 'connected';
  }

  /** Starts connecting (idempotent). */
  start(): void {
    if (this.#closed || this.#socket) return;
    void this.#open();
  }

  /** Sends a frame if connected; returns whether it was sent. */
  send(frame: UpstreamFrame): boolean {
    const s = this.#socket;
    if (!s || s.readyState !== OPEN || !this.isConnected) return false;
    s.send(encodeFrame(frame));
    return true;
  }

  /**
   * Replaces the token. On a live connection it is sent in an `updateAuth` frame without
   * reconnecting; otherwise the client (re)connects with it.
   */
  connect(opts: {auth?: string | undefined} = {}): void {
    if (this.#closed) return;
    if (opts.auth !== undefined) {
      this.#o.auth.replace(opts.auth);
    }
    if (this.isConnected && opts.auth !== undefined) {
      this.send(['updateAuth', {auth: opts.auth}]);
      return;
    }
    if (!this.isConnected) {
      this.#reconnectNow();
    }
  }

  /**
   * Drops the socket and connects again at once: the server's frames did not fit the local
   * state (the caller reset what the next connect asks for).
   */
  reconnect(): void {
    if (this.#closed) return;
    this.#reconnectNow();
  }

  setHidden(hidden: boolean): void {
    this.#hidden = hidden;
    clearTimeout(this.#hiddenTimer);
    if (hidden) {
      const delay = this.#o.hiddenTabDisconnectDelayMs ?? 5 * 60_000;
      this.#hiddenTimer = setTimeout(() => {
        this.#drop('disconnected', 'The tab has been hidden');
      }, delay);
    } else {
      if (this.#o.state.current.name === 'disconnected' && !this.#socket) {
        this.#reconnectNow();
      } else if (this.isConnected) {
        void this.#maybeRefresh(true);
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    clearTimeout(this.#hiddenTimer);
    this.#teardownSocket();
    this.#o.state.set({name: 'closed'});
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#refreshTimer);
  }

  #teardownSocket(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.#epoch++;
    if (s) {
      s.onopen = s.onmessage = s.onclose = null;
      // Closing a socket that is still connecting reports an error; nobody needs it.
      s.onerror = () => {};
      try {
        s.close(1000, 'client closing');
      } catch {
        // already closed
      }
    }
  }

  #reconnectNow(): void {
    this.#clearTimers();
    this.#teardownSocket();
    this.#attempt = 0;
    void this.#open();
  }

  async #open(): Promise<void> {
    if (this.#closed || (this.#hidden && this.#o.state.current.name === 'disconnected')) return;
    const epoch = ++this.#epoch;
    this.#o.state.set({name: 'connecting'});
    let token: string | undefined;
    try {
      token = await this.#o.auth.current();
    } catch (e) {
      this.#o.logger.warn('The auth function threw; will retry', {error: errorName(e)});
      this.#scheduleRetry('The auth function failed');
      return;
    }
    if (epoch !== this.#epoch || this.#closed) return;
    let params: Record<string, string> | undefined;
    try {
      params = await this.#o.urlParams?.();
    } catch (e) {
      this.#o.logger.warn('Could not read the socket URL parameters', {error: errorName(e)});
      this.#scheduleRetry('Could not read the socket URL parameters');
      return;
    }
    if (epoch !== this.#epoch || this.#closed) return;
    const create = this.#o.createSocket ?? defaultSocketFactory;
    let socket: SocketLike;
    this.#wasConnected = false;
    try {
      socket = create(withParams(this.#url, params));
    } catch (e) {
      this.#o.logger.warn('Could not open a WebSocket', {error: errorName(e)});
      this.#scheduleRetry('Could not open a WebSocket');
      return;
    }
    this.#socket = socket;
    const armConnectTimer = () => {
      this.#connectTimer = setTimeout(() => {
        if (epoch === this.#epoch && !this.isConnected) {
          this.#drop('disconnected', 'Connect timed out');
        }
      }, this.#o.connectTimeoutMs ?? 10_000);
    };
    armConnectTimer();
    socket.onopen = () => {
      // The time `buildConnect` takes (it may wait for the local store to open) is not the
      // server's: the timeout covers opening the socket, then the server's answer.
      clearTimeout(this.#connectTimer);
      void (async () => {
        const body = await this.#o.buildConnect(token);
        if (epoch !== this.#epoch) return;
        armConnectTimer();
        socket.send(encodeFrame(['connect', body]));
      })();
    };
    socket.onmessage = ev => {
      if (epoch !== this.#epoch) return;
      this.#lastReceivedAt = Date.now();
      if (typeof ev.data !== 'string') {
        this.#drop('disconnected', 'Received a binary frame');
        return;
      }
      let frame: DownstreamFrame;
      try {
        frame = decodeDownstream(ev.data);
      } catch (e) {
        const kind = e instanceof ProtocolError ? e.kind : 'InvalidMessage';
        this.#o.logger.error('Received an invalid frame from the server', {kind});
        this.#drop('disconnected', `Invalid frame from server (${kind})`);
        return;
      }
      this.#handle(frame);
    };
    socket.onclose = ev => {
      if (epoch !== this.#epoch) return;
      this.#socket = undefined;
      // Once per accepted socket, so that a server closing every socket at once cannot
      // make the client loop without backoff.
      if (ev.code === SERVICE_RESTART && this.#wasConnected) {
        this.#clearTimers();
        this.#o.state.set({name: 'connecting', reason: 'The server is restarting'});
        this.#attempt = 1;
        void this.#open();
        return;
      }
      this.#scheduleRetry(`Socket closed (${ev.code})`);
    };
    socket.onerror = () => {
      // onclose follows and decides what to do.
    };
  }

  #handle(frame: DownstreamFrame): void {
    switch (frame[0]) {
      case 'connected':
        clearTimeout(this.#connectTimer);
        this.#attempt = 0;
        this.#wasConnected = true;
        this.#o.state.set({name: 'connected'});
        this.#startPings();
        this.#scheduleRefresh(frame[1].tokenExpiresAt);
        this.#o.onConnected?.();
        return;
      case 'authUpdated':
        this.#scheduleRefresh(frame[1].tokenExpiresAt);
        return;
      case 'pong':
        clearTimeout(this.#pongTimer);
        return;
      case 'error': {
        const {kind, message} = frame[1];
        if (kind === 'AuthInvalidated') {
          void this.#authRejected(message);
          return;
        }
        this.#o.onFrame(frame);
        if (FATAL_KINDS.has(kind)) {
          this.#clearTimers();
          this.#teardownSocket();
          this.#o.state.set({name: 'error', reason: `${kind}: ${message}`});
          return;
        }
        this.#drop('disconnected', `${kind}: ${message}`);
        return;
      }
      default:
        this.#o.onFrame(frame);
    }
  }

  async #authRejected(message: string): Promise<void> {
    this.#clearTimers();
    this.#teardownSocket();
    const reason = `AuthInvalidated: ${message}`;
    let next: string | undefined;
    try {
      next = await this.#o.auth.rejected();
    } catch (e) {
      this.#o.logger.warn('The auth function threw after a rejection', {error: errorName(e)});
    }
    if (this.#closed) return;
    if (next === undefined) {
      this.#o.state.set({name: 'needs-auth', reason});
      return;
    }
    this.#o.state.set({name: 'connecting', reason});
    this.#attempt = 0;
    void this.#open();
  }

  #drop(name: 'disconnected', reason: string): void {
    this.#clearTimers();
    this.#teardownSocket();
    this.#o.state.set({name, reason});
    if (!this.#hidden) {
      this.#scheduleRetry(reason);
    }
  }

  #scheduleRetry(reason: string): void {
    if (this.#closed) return;
    const st = this.#o.state.current.name;
    if (st === 'needs-auth' || st === 'error') return;
    this.#clearTimers();
    this.#o.state.set({name: 'disconnected', reason});
    if (this.#hidden) return;
    const delay = backoffDelayMs(this.#attempt++);
    this.#retryTimer = setTimeout(() => void this.#open(), delay);
  }

  #startPings(): void {
    const interval = this.#o.pingIntervalMs ?? 5_000;
    const timeout = this.#o.pongTimeoutMs ?? 5_000;
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastReceivedAt < interval) return;
      if (!this.send(['ping', {}])) return;
      clearTimeout(this.#pongTimer);
      this.#pongTimer = setTimeout(() => {
        this.#drop('disconnected', 'The server did not answer a ping');
      }, timeout);
    }, interval);
  }

  #scheduleRefresh(expiresAt: number | null): void {
    clearTimeout(this.#refreshTimer);
    if (!this.#o.auth.isFunction) return;
    const token = this.#o.auth.token;
    const exp = expiresAt ?? (token ? jwtExpiryMs(token) : undefined);
    if (exp === undefined) return;
    const lead = this.#o.refreshLeadMs ?? 30_000;
    const delay = Math.max(0, exp - Date.now() - lead);
    // setTimeout's limit is 2^31-1 ms; tokens living longer are re-checked when visible.
    if (delay > 2 ** 31 - 1) return;
    this.#refreshTimer = setTimeout(() => void this.#maybeRefresh(false), delay);
  }

  /** Gets a new token from the app's function and sends it on the live socket. */
  async #maybeRefresh(onlyIfNearExpiry: boolean): Promise<void> {
    const token = this.#o.auth.token;
    if (onlyIfNearExpiry) {
      const exp = token ? jwtExpiryMs(token) : undefined;
      const lead = this.#o.refreshLeadMs ?? 30_000;
      if (exp === undefined || exp - Date.now() > lead) return;
    }
    let next: string | undefined;
    try {
      next = await this.#o.auth.refresh();
    } catch (e) {
      this.#o.logger.warn('Token refresh failed', {error: errorName(e)});
      return;
    }
    if (next !== undefined && this.isConnected) {
      this.send(['updateAuth', {auth: next}]);
    }
  }
}

function withParams(url: string, params: Record<string, string> | undefined): string {
  if (!params) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

function defaultSocketFactory(url: string): SocketLike {
  const WS = (globalThis as {WebSocket?: new (url: string) => SocketLike}).WebSocket;
  if (!WS) {
    throw new TypeError(
      'No global WebSocket. On Node 20 set globalThis.WebSocket (e.g. from the ws package) before constructing Zero.',
    );
  }
  return new WS(url);
}
