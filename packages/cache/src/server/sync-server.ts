// The view syncer's front door: an HTTP server with a health endpoint and the sync
// WebSocket, client groups in memory, and the subscription to replica advances.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {Duplex} from 'node:stream';
import {randomUUID} from 'node:crypto';
import {WebSocketServer} from 'ws';
import type {ErrorBody} from '@zync/protocol';
import {encodeFrame, PROTOCOL_VERSION, SYNC_PATH} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import type {GroupPins} from '../auth/group-pins.ts';
import type {OriginCheck} from '../auth/origins.ts';
import type {Clock} from './clock.ts';
import {Connection} from './connection.ts';
import type {CVRStore} from '../cvr/cvr-store.ts';
import {
  passThroughQueryPreparer,
  type CellVisibility,
  type QueryPreparer,
} from '../view-syncer/group-client.ts';
import {GroupRegistry} from '../view-syncer/group-registry.ts';
import {
  anonymousAuthenticator,
  unsupportedPusher,
  type Authenticator,
  type Pusher,
} from './hooks.ts';
import {DEFAULT_SYNC_LIMITS, type SyncLimits} from './limits.ts';
import {refusalResponse} from './role-rules.ts';
import type {QueryDriverFactory, ReplicaNotifier} from '../view-syncer/query-driver.ts';
import {noMetrics, type Metrics} from '../metrics/metrics.ts';

/** The sync path of any protocol version (the client puts its version in the path). */
const OTHER_SYNC_PATH = /^\/sync\/v(\d{1,6})\/connect$/;

export type SyncServerOptions = {
  /** Listen address (ZERO_HOST). */
  readonly host: string;
  /** Listen port (ZERO_PORT); 0 picks a free one (see `ready`). */
  readonly port: number;
  readonly logger: Logger;
  /** Where CVRs live; `run()` creates its schema if needed. */
  readonly cvrStore: CVRStore;
  /** One query driver per client group in memory. */
  readonly createDriver: QueryDriverFactory;
  /** Replica advances; each one advances every group in memory. */
  readonly replica: ReplicaNotifier;
  readonly authenticate?: Authenticator | undefined;
  readonly pusher?: Pusher | undefined;
  readonly prepareQuery?: QueryPreparer | undefined;
  /** Which columns the cell select rules hide (none when absent). */
  readonly cells?: CellVisibility | undefined;
  readonly limits?: Partial<SyncLimits> | undefined;
  /** Pins each client group to one user (docs/auth.md); `run()` calls its `init()`. */
  readonly groupPins?: GroupPins | undefined;
  /** Set when cookies are forwarded: upgrades from other origins are refused. */
  readonly checkOrigin?: OriginCheck | undefined;
  /**
   * Sockets are handed in by a dispatcher process (`handleUpgrade`): no port is bound, and
   * every connect frame must be for the client group the dispatcher routed on.
   */
  readonly external?: boolean | undefined;
  readonly metrics?: Metrics | undefined;
  /**
   * Other HTTP requests (the admin endpoints): returns true when it answered the request;
   * otherwise it gets a 404.
   */
  readonly http?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Time and timers of token-expiry cuts and CVR write delays (default: the system clock). */
  readonly clock?: Clock | undefined;
  /**
   * Set on a node that serves no sync clients (a replication-manager): every WebSocket
   * upgrade is answered `421 Misdirected Request` with this text (server/roles.ts).
   */
  readonly refuseUpgrades?: string | undefined;
};

/** How a draining server closes its sockets (see docs/processes.md). */
export type CloseWith = {readonly code: number; readonly reason: string};

export type SyncServerStats = {readonly connections: number; readonly clientGroups: number};

export class SyncServer {
  readonly #o: SyncServerOptions;
  readonly #lc: Logger;
  readonly #limits: SyncLimits;
  readonly #groups: GroupRegistry;
  readonly #metrics: Metrics;
  readonly #connections = new Set<Connection>();
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #listening: Promise<number> | undefined;
  #serving = false;
  #resolveReady: (port: number) => void = () => {};
  #rejectReady: (e: unknown) => void = () => {};
  #resolveStopped: () => void = () => {};
  readonly #stopped: Promise<void>;
  /** Resolves with the port once the server listens. */
  readonly ready: Promise<number>;

  constructor(options: SyncServerOptions) {
    this.#o = options;
    this.#lc = options.logger.with({component: 'sync-server'});
    this.#limits = Object.freeze({...DEFAULT_SYNC_LIMITS, ...options.limits});
    this.#metrics = options.metrics ?? noMetrics;
    this.#groups = new GroupRegistry({
      metrics: this.#metrics,
      store: options.cvrStore,
      createDriver: options.createDriver,
      prepareQuery: options.prepareQuery ?? passThroughQueryPreparer,
      cells: options.cells,
      limits: this.#limits,
      logger: options.logger.with({component: 'view-syncer'}),
      clock: options.clock,
    });
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.#stopped = new Promise(resolve => {
      this.#resolveStopped = resolve;
    });
  }

  stats(): SyncServerStats {
    return {connections: this.#connections.size, clientGroups: this.#groups.size};
  }

  /** The client groups this server holds (admin endpoints, metrics). */
  get groups(): GroupRegistry {
    return this.#groups;
  }

  /**
   * Binds the port without serving yet: until `run()` is ready, `/` answers 503 and
   * WebSocket upgrades are refused with 503, so clients retry. Lets the caller find out
   * that the port is taken before any slow start-up work. Resolves with the bound port.
   */
  listen(): Promise<number> {
    this.#listening ??= this.#listen();
    return this.#listening;
  }

  /** Starts listening (if `listen()` was not called) and serving; resolves once stopped. */
  async run(): Promise<void> {
    try {
      await this.#start();
    } catch (e) {
      this.#rejectReady(e);
      throw e;
    }
    await this.#stopped;
  }

  async #listen(): Promise<number> {
    const wss = new WebSocketServer({
      noServer: true,
      // Frames between maxFrameBytes and this get a MessageTooLarge error frame from us;
      // beyond it `ws` cuts the socket without reading the frame (close code 1009).
      maxPayload: this.#limits.maxFrameBytes * 2 + 1024,
      perMessageDeflate: false,
    });
    this.#wss = wss;
    if (this.#o.external) return 0;
    const http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && (path === '/' || path === '/keepalive')) {
        if (this.#serving) res.writeHead(200, {'content-type': 'text/plain'}).end('OK');
        else res.writeHead(503, {'content-type': 'text/plain'}).end('Starting');
      } else if (!this.#o.http?.(req, res)) {
        res.writeHead(404, {'content-type': 'text/plain'}).end('Not Found');
      }
    });
    this.#http = http;
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#o.port, this.#o.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const addr = http.address();
    return typeof addr === 'object' && addr ? addr.port : this.#o.port;
  }

  /**
   * Serves one WebSocket upgrade. `routedGroupID` is the `clientGroupID` URL parameter a
   * dispatcher routed the socket on (null: there was none); the connect frame must match it.
   */
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    routedGroupID?: string | null,
  ): void {
    const wss = this.#wss;
    if (this.#o.refuseUpgrades !== undefined) {
      socket.on('error', () => {});
      socket.end(refusalResponse(this.#o.refuseUpgrades));
      return;
    }
    if (!wss || (!this.#serving && !this.#stopping)) {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#upgrade(wss, req, socket, head, routedGroupID);
  }

  async #start(): Promise<void> {
    const port = await this.listen();
    await this.#o.cvrStore.init();
    await this.#o.groupPins?.init();
    this.#unsubscribe = this.#o.replica.subscribe(() => this.#groups.advanceAll());
    this.#serving = true;
    this.#lc.info('Sync server listening', {host: this.#o.host, port});
    this.#resolveReady(port);
  }

  #upgrade(
    wss: WebSocketServer,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    routedGroupID: string | null | undefined,
  ): void {
    const path = (req.url ?? '').split('?')[0];
    const otherVersion = path === SYNC_PATH ? undefined : OTHER_SYNC_PATH.exec(path ?? '')?.[1];
    if ((path !== SYNC_PATH && otherVersion === undefined) || this.#stopping) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.on('error', () => {});
    if (otherVersion !== undefined) {
      // A client of another protocol version: a 404 would look like an outage and the
      // client would retry forever; VersionNotSupported is final and tells it to update.
      this.#refuse(wss, req, socket, head, {
        kind: 'VersionNotSupported',
        message: `Protocol version ${otherVersion} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      });
      return;
    }
    const origin = req.headers.origin;
    if (this.#o.checkOrigin && !this.#o.checkOrigin(origin)) {
      // Accepted only to say why in a frame the client understands (OriginNotAllowed is
      // final: no retry loop); no frame from this socket is ever read.
      this.#lc.warn('Refused a WebSocket from an origin that is not allowed', {
        origin: origin?.slice(0, 200),
      });
      this.#metrics.authFailure('origin_not_allowed');
      this.#refuse(wss, req, socket, head, {
        kind: 'OriginNotAllowed',
        message: 'This origin may not connect (ZERO_ALLOWED_ORIGINS)',
      });
      return;
    }
    const pins = this.#o.groupPins;
    wss.handleUpgrade(req, socket, head, ws => {
      const conn = new Connection(ws, req, {
        wsid: randomUUID(),
        limits: this.#limits,
        logger: this.#o.logger.with({component: 'connection'}),
        authenticate: this.#o.authenticate ?? anonymousAuthenticator,
        pusher: this.#o.pusher ?? unsupportedPusher,
        groups: this.#groups,
        metrics: this.#metrics,
        onClose: c => this.#connections.delete(c),
        claimGroup: pins ? (groupID, who) => pins.claim(groupID, who) : undefined,
        routedGroupID: this.#o.external ? (routedGroupID ?? null) : undefined,
        clock: this.#o.clock,
      });
      this.#connections.add(conn);
    });
  }

  /**
   * Accepts an upgrade only to say in a frame the client understands why it may not connect
   * (a final error: no retry loop); no frame from the socket is ever read.
   */
  #refuse(
    wss: WebSocketServer,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    error: ErrorBody,
  ): void {
    wss.handleUpgrade(req, socket, head, ws => {
      ws.send(encodeFrame(['error', error]));
      ws.close(1008, error.kind);
      setTimeout(() => ws.terminate(), 1000).unref();
    });
  }

  /**
   * Closes every connection (with `closeWith`, default 1001 "Server shutting down"), writes
   * and releases every CVR, stops listening.
   */
  stop(closeWith?: CloseWith): Promise<void> {
    this.#stopping ??= this.#stop(closeWith);
    return this.#stopping;
  }

  async #stop(closeWith: CloseWith | undefined): Promise<void> {
    this.#unsubscribe?.();
    for (const c of [...this.#connections]) c.close(closeWith?.code, closeWith?.reason);
    await this.#groups.stop();
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>(resolve => http.close(() => resolve()));
    }
    this.#wss?.close();
    this.#lc.info('Sync server stopped');
    this.#resolveStopped();
  }
}
