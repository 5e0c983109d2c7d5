// One WebSocket: the handshake (first frame `connect` within a timeout, protocol version,
// authentication), then frame dispatch, a bounded send buffer, and error-then-close.
// Frames from one socket are handled strictly in order.
import type {IncomingMessage} from 'node:http';
import type {RawData, WebSocket} from 'ws';
import {
  decodeUpstream,
  encodeFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type ConnectBody,
  type DownstreamFrame,
  type ErrorKind,
  type UpstreamFrame,
} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import {groupIdentity, type GroupClaimant} from '../auth/group-identity.ts';
import type {GroupClient, QueryContext} from '../view-syncer/group-client.ts';
import type {GroupRegistry} from '../view-syncer/group-registry.ts';
import {systemClock, type Clock, type ClockTimer} from './clock.ts';
import type {Authenticator, Pusher} from './hooks.ts';
import type {SyncLimits} from './limits.ts';
import {noMetrics, type AuthFailureKind, type Metrics} from '../metrics/metrics.ts';

export type ConnectionOptions = {
  readonly wsid: string;
  readonly limits: SyncLimits;
  readonly logger: Logger;
  readonly authenticate: Authenticator;
  readonly pusher: Pusher;
  readonly groups: GroupRegistry;
  readonly onClose: (conn: Connection) => void;
  /**
   * Pins the client group to the connection's user; false refuses the connection
   * (Unauthorized). Default: every group admits every user.
   */
  readonly claimGroup?: ((groupID: string, who: GroupClaimant) => Promise<boolean>) | undefined;
  /**
   * The `clientGroupID` URL parameter a dispatcher routed this socket on (null: none was
   * given); the connect frame must name the same group, so that a group lives in one
   * process. Undefined when there is no dispatcher.
   */
  readonly routedGroupID?: string | null | undefined;
  /** A live connection is cut this long after its token's `exp` unless refreshed. */
  readonly tokenExpiryGraceMs?: number | undefined;
  /** Refused credentials are counted here, by kind. */
  readonly metrics?: Metrics | undefined;
  /** Time and timers of the token-expiry cut (default: the system clock). */
  readonly clock?: Clock | undefined;
};

/** Time allowed for the closing handshake after an error before the socket is cut. */
const CLOSE_GRACE_MS = 1000;
/** Upper bound of mutations merged into one push (one transaction). */
const MAX_MERGED_MUTATIONS = 500;
/** Matches the verifier's clock tolerance (auth/authenticator.ts). */
const DEFAULT_TOKEN_EXPIRY_GRACE_MS = 5_000;
/** setTimeout's longest delay; longer expiries are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function closeCode(kind: ErrorKind): number {
  switch (kind) {
    case 'MessageTooLarge':
      return 1009;
    case 'ServerOverloaded':
      return 1013;
    case 'Internal':
      return 1011;
    default:
      return 1008;
  }
}

type State = 'awaiting-connect' | 'open' | 'closed';

export class Connection implements GroupClient {
  readonly wsid: string;
  readonly #ws: WebSocket;
  readonly #upgrade: IncomingMessage;
  readonly #o: ConnectionOptions;
  #lc: Logger;
  #state: State = 'awaiting-connect';
  #inbox: Promise<void> = Promise.resolve();
  #pushes: Promise<void> = Promise.resolve();
  /** The next push to process, still open to merging later pushes into it. */
  #waitingPush: {body: Extract<UpstreamFrame, ['push', unknown]>[1]} | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ClockTimer | undefined;
  #connectBody: ConnectBody | undefined;
  /** What the client group was claimed with (auth/group-identity.ts). */
  #identity: string | undefined;
  #context: QueryContext | undefined;

  constructor(ws: WebSocket, upgrade: IncomingMessage, options: ConnectionOptions) {
    this.wsid = options.wsid;
    this.#ws = ws;
    this.#upgrade = upgrade;
    this.#o = options;
    this.#lc = options.logger.with({wsid: options.wsid});
    ws.on('message', (data, isBinary) => this.#receive(data, isBinary));
    ws.on('close', () => this.#closed());
    ws.on('error', e => {
      this.#lc.debug('Socket error', {error: e.message.slice(0, 200)});
      this.#closed();
    });
    this.#connectTimer = setTimeout(
      () => this.fail('InvalidConnectionRequest', 'No connect frame received in time'),
      options.limits.connectTimeoutMs,
    );
  }

  get clientID(): string {
    return this.#requireContext().clientID;
  }

  get context(): QueryContext {
    return this.#requireContext();
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  #requireContext(): QueryContext {
    if (!this.#context) throw new Error('connection not yet accepted');
    return this.#context;
  }

  #receive(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    if (isBinary) {
      this.fail('InvalidMessage', 'Binary frames are not supported');
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    let frame: UpstreamFrame;
    try {
      frame = decodeUpstream(text, this.#o.limits.maxFrameBytes);
    } catch (e) {
      if (e instanceof ProtocolError) this.fail(e.kind, e.message);
      else this.fail('InvalidMessage', 'Frame could not be decoded');
      return;
    }
    this.#inbox = this.#inbox
      .then(() => (this.#state === 'closed' ? undefined : this.#handle(frame)))
      .catch((e: unknown) => {
        this.#lc.error('Failed to handle a frame', {
          type: frame[0],
          error: e instanceof Error ? e.message.slice(0, 200) : 'unknown',
        });
        this.fail('Internal', 'The server failed to handle a frame');
      });
  }

  async #handle(frame: UpstreamFrame): Promise<void> {
    if (this.#state === 'awaiting-connect') {
      if (frame[0] !== 'connect') {
        this.fail('InvalidConnectionRequest', 'The first frame must be connect');
        return;
      }
      await this.#connect(frame[1]);
      return;
    }
    switch (frame[0]) {
      case 'connect':
        this.fail('InvalidMessage', 'connect may be sent only once');
        return;
      case 'ping':
        this.send(['pong', {}]);
        return;
      case 'changeDesiredQueries':
        await this.#o.groups.changeDesiredQueries(this, frame[1].patch);
        return;
      case 'updateAuth':
        await this.#updateAuth(frame[1].auth);
        return;
      case 'push':
        this.#push(frame[1]);
        return;
    }
  }

  async #connect(body: ConnectBody): Promise<void> {
    clearTimeout(this.#connectTimer);
    if (body.protocolVersion !== PROTOCOL_VERSION) {
      this.fail(
        'VersionNotSupported',
        `Protocol version ${body.protocolVersion} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    if (this.#o.routedGroupID !== undefined && this.#o.routedGroupID !== body.clientGroupID) {
      this.fail(
        'InvalidConnectionRequest',
        'The clientGroupID URL parameter must name the client group of the connect frame',
      );
      return;
    }
    const auth = await this.#o.authenticate(body, this.#upgrade);
    if (this.#state === 'closed') return;
    if (!auth.ok) {
      this.#authFailed(auth.reason ?? 'other');
      this.fail(auth.kind, auth.message);
      return;
    }
    const identity = groupIdentity(body, auth.identity, this.#upgrade.headers.cookie);
    const claimant = {userID: body.userID, identity};
    if (this.#o.claimGroup && !(await this.#o.claimGroup(body.clientGroupID, claimant))) {
      this.#authFailed('group_owned_by_other_user');
      this.fail('Unauthorized', 'This client group belongs to another user');
      return;
    }
    this.#identity = identity;
    if (this.closed) return;
    this.#connectBody = body;
    this.#context = {
      clientID: body.clientID,
      clientGroupID: body.clientGroupID,
      userID: body.userID,
      authData: auth.authData,
      token: body.auth,
      cookie: this.#upgrade.headers.cookie,
      refuseAuth: message => {
        this.#authFailed('api_server_refused');
        this.fail('AuthInvalidated', message);
      },
    };
    this.#lc = this.#lc.with({clientID: body.clientID, clientGroupID: body.clientGroupID});
    this.#state = 'open';
    this.#armExpiry(auth.tokenExpiresAt);
    if (this.closed) return;
    this.send(['connected', {wsid: this.wsid, tokenExpiresAt: auth.tokenExpiresAt}]);
    await this.#o.groups.connect(this, body.baseVersion, body.desiredQueries);
    // Synced queries the group already held were transformed for another token, maybe.
    void this.#o.groups.reprepare(this);
    this.#lc.debug('Client connected');
  }

  async #updateAuth(token: string): Promise<void> {
    const body = this.#connectBody;
    if (!body) return;
    const next: ConnectBody = {...body, auth: token};
    const auth = await this.#o.authenticate(next, this.#upgrade);
    if (this.#state === 'closed') return;
    if (!auth.ok) {
      this.#authFailed(auth.reason ?? 'other');
      this.fail(auth.kind, auth.message);
      return;
    }
    // The group is bound to the identity it was joined with: a refreshed token must be for
    // the same subject (a token for another user, or one given to an anonymous connection,
    // would hand the group's rows to whoever else holds its ID).
    if (groupIdentity(next, auth.identity, this.#upgrade.headers.cookie) !== this.#identity) {
      this.#lc = this.#o.logger.with({wsid: this.wsid});
      this.#authFailed('identity_changed');
      this.fail('Unauthorized', 'A new token must be for the identity this connection began with');
      return;
    }
    this.#connectBody = next;
    this.#context = {...this.#requireContext(), authData: auth.authData, token};
    this.#armExpiry(auth.tokenExpiresAt);
    this.send(['authUpdated', {tokenExpiresAt: auth.tokenExpiresAt}]);
    // Permission filters are bound to the claims: the client's queries follow new ones.
    await this.#o.groups.authChanged(this);
    // Synced queries are transformed for the token: switch them to what the new one grants.
    void this.#o.groups.reprepare(this);
  }

  /**
   * A verified token stops being good at its `exp`: the client must send a new one with
   * `updateAuth` before then (plus the clock tolerance), or the connection is cut with
   * AuthInvalidated, which sends the client to its refresh path.
   */
  #armExpiry(expiresAt: number | null): void {
    const clock = this.#o.clock ?? systemClock;
    clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    if (expiresAt === null) return;
    const cutAt = expiresAt + (this.#o.tokenExpiryGraceMs ?? DEFAULT_TOKEN_EXPIRY_GRACE_MS);
    const arm = () => {
      const left = cutAt - clock.now();
      if (left <= 0) {
        this.#authFailed('expired_while_connected');
        this.fail('AuthInvalidated', 'Token expired');
        return;
      }
      this.#expiryTimer = clock.setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      this.#expiryTimer.unref();
    };
    arm();
  }

  #push(body: Extract<UpstreamFrame, ['push', unknown]>[1]): void {
    const ctx = this.#requireContext();
    if (body.clientGroupID !== ctx.clientGroupID) {
      this.fail('InvalidMessage', 'push names another client group');
      return;
    }
    // Pushes that arrive while an earlier one is processed are merged into one (in order, up
    // to MAX_MERGED_MUTATIONS): a client that pipelines mutations then costs one Postgres
    // transaction (or one API server request) per batch instead of one per push. Outcomes are
    // matched to mutations by (clientID, id), so one pushResponse answers the whole batch.
    const waiting = this.#waitingPush;
    if (waiting && waiting.body.mutations.length + body.mutations.length <= MAX_MERGED_MUTATIONS) {
      waiting.body = {...waiting.body, mutations: [...waiting.body.mutations, ...body.mutations]};
      return;
    }
    const batch = {body};
    this.#waitingPush = batch;
    // Pushes run in order, but beside query changes: a slow API server holds back
    // mutations only, never pokes.
    this.#pushes = this.#pushes
      .then(async () => {
        // From here on this batch takes no more pushes.
        if (this.#waitingPush === batch) this.#waitingPush = undefined;
        const merged = batch.body;
        if (this.#state === 'closed') return;
        const response = await this.#o.pusher.push(merged, {
          ...this.#requireContext(),
          upgrade: this.#upgrade,
          currentToken: () => this.#context?.token,
          live: () => this.#state !== 'closed',
        });
        this.send(['pushResponse', response]);
      })
      .catch((e: unknown) => {
        this.#lc.warn('Push failed', {
          kind: e instanceof ProtocolError ? e.kind : undefined,
          error: e instanceof Error ? e.message.slice(0, 200) : 'unknown',
        });
        // AuthInvalidated (the API server refused the token) sends the client to its
        // refresh path; the mutations stay pending and are pushed again.
        if (e instanceof ProtocolError && e.kind === 'AuthInvalidated') {
          this.#authFailed('api_server_refused');
        }
        if (e instanceof ProtocolError) this.fail(e.kind, e.message);
        else this.fail('PushFailed', 'The mutations could not be processed');
      });
  }

  #authFailed(kind: AuthFailureKind): void {
    (this.#o.metrics ?? noMetrics).authFailure(kind);
  }

  send(frame: DownstreamFrame): void {
    this.sendText(encodeFrame(frame));
  }

  /**
   * Sends unless the client is too far behind: a backlog over the limit when the next frame
   * is due closes the connection with ServerOverloaded, so that it holds back nobody.
   * `checkBacklog: false` skips that check (see GroupClient.sendText).
   */
  sendText(text: string, checkBacklog = true): void {
    if (this.#state === 'closed') return;
    if (checkBacklog && this.#ws.bufferedAmount > this.#o.limits.maxBufferedBytes) {
      this.fail('ServerOverloaded', 'The client is not reading fast enough');
      return;
    }
    this.#ws.send(text);
  }

  /** Sends an error frame and closes. Idempotent. */
  fail(kind: ErrorKind, message: string): void {
    if (this.#state === 'closed') return;
    this.#lc.info('Closing connection', {kind});
    try {
      this.#ws.send(encodeFrame(['error', {kind, message}]));
      this.#ws.close(closeCode(kind), kind);
    } catch {
      // the socket is already going away
    }
    const ws = this.#ws;
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    this.#closed();
  }

  /** Closes without an error (server shutdown). */
  close(code = 1001, reason = 'Server shutting down'): void {
    if (this.#state === 'closed') return;
    this.#ws.close(code, reason);
    const ws = this.#ws;
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    this.#closed();
  }

  #closed(): void {
    clearTimeout(this.#connectTimer);
    (this.#o.clock ?? systemClock).clearTimeout(this.#expiryTimer);
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    if (wasOpen) {
      this.#o.groups.disconnect(this);
    }
    this.#o.onClose(this);
  }
}
