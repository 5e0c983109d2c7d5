// The `Zero` client: a local store that answers queries at once, kept in step with
// zero-cache over one WebSocket.
import type {
  ConnectBody,
  DownstreamFrame,
  PokeBody,
  PokePartBody,
  QueryPatchOp,
} from '@zync/protocol';
import {PROTOCOL_VERSION} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import {createLogger, hashOf} from '@zync/shared';
import type {
  AnyQuery,
  AnyQueryRequest,
  DefaultContext,
  DefaultSchema,
  PreloadOptions,
  QueryResultType,
  ResultType,
  RunOptions,
  Schema,
  SchemaQuery,
  TTL,
  TypedView,
} from '@zync/zql';
import {createBuilder, legacyQueriesEnabled, toQuery} from '@zync/zql';
import {AuthSource} from '../connection/auth-source.ts';
import {Connection} from '../connection/connection.ts';
import type {ConnectionState} from '../connection/connection-state.ts';
import {ConnectionStateStore} from '../connection/connection-state.ts';
import type {Store} from '../kv/store.ts';
import {databaseName} from '../storage/database-name.ts';
import type {RegistryProvider} from '../storage/registry.ts';
import {resolveStoreProvider} from '../storage/drop.ts';
import {callAppOrReload} from './app-callback.ts';
import {createInspector, type Inspector} from './inspector.ts';
import {watchVisibility} from './browser.ts';
import {consoleSink} from './console-sink.ts';
import type {KVOp, PreparedRowOp} from './local-state.ts';
import {LocalState} from './local-state.ts';
import {MutationManager} from './mutations.ts';
import type {UpdateNeededReason, ZeroOptions} from './options.ts';
import {normalizeOptions} from './options.ts';
import {assertSyncable, refusingQueryRoots} from './legacy-queries.ts';
import type {ZeroMutate} from './zero-mutate.ts';
import {makeZeroMutate} from './zero-mutate.ts';
import {QueryManager} from './query-manager.ts';
import {claimGroupID, randomID, readPending} from './stored-group.ts';

let replaceContextOf: (zero: Zero<Schema, unknown, unknown>, context: unknown) => void;

/**
 * Gives a live instance a new context (how `ZeroProvider` applies a changed `context`
 * prop). Defined queries and mutators called from then on see it; views already
 * materialized keep the query they were made with.
 */
export function replaceContext<S extends Schema, MD, C>(zero: Zero<S, MD, C>, context: C): void {
  replaceContextOf(zero as unknown as Zero<Schema, unknown, unknown>, context);
}

export class Zero<S extends Schema = DefaultSchema, MD = unknown, C = DefaultContext> {
  readonly userID: string;
  readonly clientID: string;
  readonly storageKey: string;
  readonly idbName: string;
  readonly schema: S;
  readonly query: SchemaQuery<S>;
  /**
   * `zero.mutate(request)` runs a defined mutator; its properties are the CRUD mutators per
   * table and the app's 0.24-style custom mutators per namespace.
   */
  readonly mutate: ZeroMutate<S, MD>;
  readonly clientGroupID: Promise<string>;
  readonly connection: {
    readonly state: {
      readonly current: ConnectionState;
      subscribe(fn: (s: ConnectionState) => void): () => void;
    };
    connect(opts?: {auth?: string}): Promise<void>;
  };

  #context: C;
  readonly #logger: Logger;
  readonly #provider: RegistryProvider;
  readonly #store: Store;
  readonly #local: LocalState;
  readonly #queries: QueryManager;
  readonly #mutations: MutationManager;
  readonly #state: ConnectionStateStore;
  readonly #conn: Connection | undefined;
  readonly #ready: Promise<void>;
  readonly #unwatchDrop: () => void;
  readonly #onOnlineListeners = new Set<(online: boolean) => void>();
  readonly #removeVisibility: () => void;
  #writes: Promise<void> = Promise.resolve();
  /** Parts of the poke in progress, prepared (see #onPokePart). */
  #pokeParts: {readonly pokeID: string; readonly rows: PreparedRowOp[][]} | undefined;
  #closed = false;
  #inspector: Inspector | undefined;
  #online = false;
  #groupID = '';
  /** The desired queries sent in the last `connect` frame, by hash. */
  #connectQueries = new Set<string>();
  readonly #onUpdateNeeded: ((reason: UpdateNeededReason) => void) | undefined;
  readonly #onClientStateNotFound: (() => void) | undefined;

  constructor(zeroOptions: ZeroOptions<S, MD, C>) {
    const options = normalizeOptions(zeroOptions);
    this.userID = options.userID;
    this.#context = options.context as C;
    this.storageKey = options.storageKey ?? '';
    this.schema = options.schema;
    this.clientID = randomID();
    this.#logger = createLogger(options.logLevel ?? 'error', consoleSink, {});
    const server = options.server ?? null;
    this.idbName = databaseName({
      userID: options.userID,
      storageKey: options.storageKey,
      server,
      schemaVersion: hashOf(options.schema),
    });
    this.#provider = resolveStoreProvider(options.kvStore ?? 'idb', {logger: this.#logger});
    this.#store = this.#provider.create(this.idbName);
    this.#local = new LocalState(options.schema);
    this.#queries = new QueryManager(options.schema, this.#local, patch =>
      this.#sendQueries(patch),
    );
    this.query = (
      legacyQueriesEnabled(options.schema)
        ? createBuilder(options.schema, this.#queries)
        : refusingQueryRoots(options.schema)
    ) as SchemaQuery<S>;
    this.#mutations = new MutationManager({
      schema: options.schema,
      local: this.#local,
      clientID: this.clientID,
      mutators: options.mutators,
      context: () => this.#context,
      queryDelegate: this.#queries,
      persist: ops => this.#enqueueWrite(ops),
      push: mutations =>
        this.#conn?.send([
          'push',
          {clientGroupID: this.#groupID, mutations, requestID: randomID()},
        ]) ?? false,
    });
    this.mutate = makeZeroMutate(this.#mutations, options.schema) as ZeroMutate<S, MD>;

    this.#state = new ConnectionStateStore(
      server === null
        ? {name: 'disconnected', reason: 'No server configured'}
        : {name: 'connecting'},
    );
    this.#state.subscribe(s => {
      this.#setOnline(s.name === 'connected');
      if (s.name !== 'connected') {
        // Parts of a poke that will not come (the connection is gone) are dropped.
        this.#pokeParts = undefined;
        this.#mutations.onConnectionLost();
      }
    });
    if (options.onOnlineChange) this.#onOnlineListeners.add(options.onOnlineChange);
    this.#onUpdateNeeded = options.onUpdateNeeded;
    this.#onClientStateNotFound = options.onClientStateNotFound;

    this.#conn =
      server === null
        ? undefined
        : new Connection({
            server,
            auth: new AuthSource(options.auth),
            state: this.#state,
            logger: this.#logger,
            // The connect frame carries what the local store holds: it waits for the load.
            buildConnect: async token => {
              await this.#ready;
              return this.#connectBody(token);
            },
            onFrame: f => this.#onFrame(f),
            onConnected: () => {
              this.#catchUpQueries();
              this.#mutations.onConnected();
            },
            createSocket: options.createSocket,
            // Sockets are routed by group: a new client's first waits for the store to tell it.
            urlParams: async () => {
              if (this.#groupID === '') await this.#ready;
              return {clientGroupID: this.#groupID, clientID: this.clientID};
            },
            hiddenTabDisconnectDelayMs: options.hiddenTabDisconnectDelay,
          });
    const conn = this.#conn;
    this.connection = {
      state: this.#state,
      connect: (opts = {}) => {
        conn?.connect(opts);
        return Promise.resolve();
      },
    };

    this.#unwatchDrop = this.#provider.bus.watch(this.#provider.scope, this.idbName, reason => {
      void this.#closeFrom(`The local database was dropped (${reason})`);
    });
    this.#removeVisibility = watchVisibility(hidden => this.#conn?.setHidden(hidden));

    this.#ready = this.#init();
    this.#queries.waitForLoad(this.#ready);
    this.clientGroupID = this.#ready.then(() => this.#groupID);
    // The token is read meanwhile; the socket opens once the group is known (`urlParams`).
    this.#conn?.start();
  }

  async #init(): Promise<void> {
    try {
      const migrate = await this.#local.load(this.#store);
      if (migrate.length > 0) this.#enqueueWrite(migrate);
      await this.#mutations.restore(await readPending(this.#store));
      this.#groupID = this.#local.clientGroupID ?? (await claimGroupID(this.#store, this.#writes));
      this.#local.clientGroupID = this.#groupID;
    } catch (e) {
      this.#logger.error('Could not open the local store', {
        error: (e as Error).name,
        reason: (e as Error).message,
      });
      this.#groupID ||= randomID();
    }
  }

  /** This instance's queries, their state and rows (inspector.ts); made on first use. */
  get inspector(): Inspector {
    return (this.#inspector ??= createInspector({
      clientID: this.clientID,
      clientGroupID: this.clientGroupID,
      schema: this.schema,
      queries: this.#queries,
      local: this.#local,
    }));
  }

  /** Passed as `ctx` to defined queries and mutators (the `context` option). */
  get context(): C {
    return this.#context;
  }

  static {
    replaceContextOf = (zero, context) => {
      zero.#context = context;
    };
  }

  get online(): boolean {
    return this.#online;
  }

  get closed(): boolean {
    return this.#closed;
  }

  onOnline(fn: (online: boolean) => void): () => void {
    this.#onOnlineListeners.add(fn);
    return () => {
      this.#onOnlineListeners.delete(fn);
    };
  }

  #setOnline(online: boolean): void {
    if (online === this.#online) return;
    this.#online = online;
    for (const fn of [...this.#onOnlineListeners]) fn(online);
  }

  // These run any query through this instance, including queries from `createBuilder`,
  // synced queries defined over a shared builder (they carry no delegate of their own) and
  // defined queries' requests (`queries.issue.byId(args)`, bound to this.context here).

  materialize<Q extends AnyQuery | AnyQueryRequest>(
    query: Q,
    options?: {ttl?: TTL},
  ): LiveView<QueryResultType<Q>> {
    const q = this.#toQuery(query, 'materialize', true);
    return this.#queries.materialize(q, undefined, options?.ttl) as LiveView<QueryResultType<Q>>;
  }

  run<Q extends AnyQuery | AnyQueryRequest>(
    query: Q,
    options?: RunOptions,
  ): Promise<QueryResultType<Q>> {
    const q = this.#toQuery(query, 'run', options?.type === 'complete');
    return this.#queries.run(q, options) as Promise<QueryResultType<Q>>;
  }

  preload(
    query: AnyQuery | AnyQueryRequest,
    options?: PreloadOptions,
  ): {cleanup: () => void; complete: Promise<void>} {
    return this.#queries.preload(this.#toQuery(query, 'preload', true), options);
  }

  /** The query to run; one that would be synced must be syncable under the schema. */
  #toQuery(query: AnyQuery | AnyQueryRequest, what: string, synced: boolean): AnyQuery {
    const q = toQuery(query, this.context);
    if (synced) assertSyncable(this.schema, q, what);
    return q;
  }

  #connectBody(token: string | undefined): ConnectBody {
    const desiredQueries = this.#queries.desiredPatch();
    this.#connectQueries = new Set(desiredQueries.map(q => q.hash));
    return {
      protocolVersion: PROTOCOL_VERSION,
      clientID: this.clientID,
      clientGroupID: this.#groupID,
      userID: this.userID,
      baseVersion: this.#local.version,
      lastMutationID: 0,
      desiredQueries,
      ...(token === undefined ? {} : {auth: token}),
    };
  }

  /**
   * Queries added or removed between the `connect` frame and the server's `connected`
   * could not be sent (frames wait for `connected`); send the difference now.
   */
  #catchUpQueries(): void {
    const desired = this.#queries.desiredPatch();
    const patch: QueryPatchOp[] = desired.filter(q => !this.#connectQueries.has(q.hash));
    const now = new Set(desired.map(q => q.hash));
    for (const hash of this.#connectQueries) if (!now.has(hash)) patch.push({op: 'del', hash});
    this.#connectQueries = now;
    if (patch.length > 0) this.#sendQueries(patch);
  }

  #sendQueries(patch: QueryPatchOp[]): void {
    this.#conn?.send(['changeDesiredQueries', {patch}]);
  }

  #onFrame(frame: DownstreamFrame): void {
    switch (frame[0]) {
      case 'pokePart':
        this.#onPokePart(frame[1]);
        return;
      case 'poke':
        this.#applyPoke(frame[1]);
        return;
      case 'pushResponse':
        this.#mutations.onPushResponse(frame[1]);
        return;
      case 'error': {
        const {kind, message} = frame[1];
        this.#logger.warn('Server error', {kind});
        if (kind === 'ClientNotFound') this.#clientStateNotFound();
        else if (kind === 'VersionNotSupported' || kind === 'SchemaVersionNotSupported') {
          // Final: the connection stops retrying (state 'error').
          this.#updateNeeded({type: kind, message});
        }
        return;
      }
      default:
        return;
    }
  }

  /**
   * The server no longer has state for this client group (its CVR was purged): what the
   * client holds cannot be caught up. Everything synced is dropped (pending mutations stay
   * and are pushed again) and the connection, which retries, asks for all from nothing.
   */
  #clientStateNotFound(): void {
    // Now, not in the queued step: the reconnect must not send the old version.
    this.#local.version = null;
    const before = new Set(this.#local.gotQueries);
    void this.#mutations
      .rebase(() => this.#enqueueWrite(this.#local.resetSynced()))
      .then(() => this.#queries.afterPoke(undefined, before));
    callAppOrReload(this.#onClientStateNotFound, undefined, {
      logger: this.#logger,
      name: 'onClientStateNotFound',
      unhandled: () =>
        this.#logger.warn('The server no longer has this client group; its local state was reset'),
      writes: this.#writes,
    });
  }

  #updateNeeded(reason: UpdateNeededReason): void {
    callAppOrReload(this.#onUpdateNeeded, reason, {
      logger: this.#logger,
      name: 'onUpdateNeeded',
      unhandled: () =>
        this.#logger.error('zero-cache needs a newer client; reload the app to update', {
          type: reason.type,
        }),
      writes: this.#writes,
    });
  }

  /** Rows of a poke arriving in parts ahead of it (see docs/protocol.md). */
  #onPokePart(part: PokePartBody): void {
    const parts = this.#pokeParts;
    if (parts && parts.pokeID !== part.pokeID) {
      this.#pokeParts = undefined;
      this.#outOfStep('A poke part does not belong to the poke in progress');
      return;
    }
    const rows = this.#local.prepareRows(part.rows);
    if (parts) parts.rows.push(rows);
    else this.#pokeParts = {pokeID: part.pokeID, rows: [rows]};
  }

  /** The server's frames do not fit the local state: start over from an empty version. */
  #outOfStep(message: string): void {
    this.#logger.error(`${message}; reconnecting`);
    this.#local.version = null;
    this.#conn?.reconnect();
  }

  #applyPoke(poke: PokeBody): void {
    const parts = this.#pokeParts;
    this.#pokeParts = undefined;
    if (parts && parts.pokeID !== poke.pokeID) {
      this.#outOfStep('A poke does not match the poke parts before it');
      return;
    }
    const before = new Set<string>();
    let applied = false;
    void this.#mutations
      .rebase(() => {
        if (poke.baseVersion !== null && poke.baseVersion !== this.#local.version) {
          this.#outOfStep('Poke does not follow the local version');
          return;
        }
        for (const h of this.#local.gotQueries) before.add(h);
        this.#enqueueWrite(this.#local.applyPoke(poke, parts?.rows));
        applied = true;
      })
      .then(() => {
        if (!applied) return;
        const touched = new Set<string>();
        for (const h of this.#local.gotQueries) if (!before.has(h)) touched.add(h);
        for (const h of before) if (!this.#local.gotQueries.has(h)) touched.add(h);
        this.#queries.afterPoke(poke.queryErrors, touched);
      });
  }

  /** Store writes run one after another; each is one atomic commit. */
  #enqueueWrite(ops: readonly KVOp[]): void {
    const store = this.#store;
    this.#writes = this.#writes.then(async () => {
      if (store.closed) return;
      const w = await store.write();
      try {
        for (const op of ops) {
          if (op.value === undefined) await w.del(op.key);
          else await w.put(op.key, op.value);
        }
        await w.commit();
      } finally {
        w.release();
      }
    });
    this.#writes = this.#writes.catch((e: unknown) => {
      this.#logger.error('A local store write failed', {error: (e as Error).name});
    });
  }

  async #closeFrom(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The state first: the connection's own close would set 'closed' without the reason,
    // and 'closed' is final.
    this.#state.set({name: 'closed', reason});
    this.#conn?.close();
    this.#unwatchDrop();
    this.#removeVisibility();
    await this.#writes;
    if (!this.#store.closed) await this.#store.close();
  }

  /** Closes the connection and the local store, after in-flight writes finish. */
  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    await this.#closeFrom('closed by the app');
  }

  /** Beyond: closes this instance and drops its own local database. */
  async delete(): Promise<{deleted: string[]; errors: unknown[]}> {
    await this.close();
    try {
      await this.#provider.drop(this.idbName);
      return {deleted: [this.idbName], errors: []};
    } catch (e) {
      return {deleted: [], errors: [e]};
    }
  }
}

/** A live view plus its current result type ('unknown' until the server's answer). */
export type LiveView<T> = TypedView<T> & {readonly resultType: ResultType};
