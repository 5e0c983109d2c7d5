// One client group in memory: its CVR, its query driver, its connected clients. Every
// operation runs in order on one queue, and each produces at most one poke to every
// connected client of the group, followed by one CVR write. See docs/view-syncer.md.
import type {QueryPatch} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import {recordAdvance} from './advance-rows.ts';
import {CellMasks} from './cell-masks.ts';
import type {CVR} from '../cvr/cvr.ts';
import {CVRFlush} from '../cvr/cvr-flush.ts';
import {CVRStep} from '../cvr/cvr-step.ts';
import type {CVRStore} from '../cvr/cvr-store.ts';
import {isOwnershipLost} from '../cvr/cvr-ownership.ts';
import {systemClock, type Clock, type ClockTimer} from '../server/clock.ts';
import {applyQueryPatch, nextExpiry, undesireAll, undesireEveryone} from './desired-queries.ts';
import type {CellVisibility, GroupClient, QueryPreparer} from './group-client.ts';
import {GroupPokes, servableSeq} from './group-pokes.ts';
import {GROUP_MOVED_CLOSE, GroupClients} from './group-clients.ts';
import {GroupQueries} from './group-queries.ts';
import type {SyncLimits} from '../server/limits.ts';
import {PokeStream} from './poke-stream.ts';
import type {QueryDriver} from './query-driver.ts';
import {StepActivity} from './step-activity.ts';
import {noMetrics, type Metrics} from '../metrics/metrics.ts';
import * as inspect from './group-inspect.ts';

const noop = () => {};

export type ClientGroupOptions = {
  readonly groupID: string;
  readonly store: CVRStore;
  readonly driver: QueryDriver;
  readonly prepareQuery: QueryPreparer;
  /** Which columns of rows the cell select rules hide (none when absent). */
  readonly cells?: CellVisibility | undefined;
  readonly limits: SyncLimits;
  readonly logger: Logger;
  /** Called once the group has no clients for `groupIdleMs`, broke, or moved away. */
  readonly onDone: (group: ClientGroup) => void;
  /** Steps of all groups of the process (CVR writes wait for them); default: this group's. */
  readonly activity?: StepActivity;
  readonly metrics?: Metrics | undefined;
  readonly clock?: Clock | undefined; // of query TTLs and the CVR write delay (default: system)
};

export class ClientGroup {
  readonly groupID: string;
  readonly #o: ClientGroupOptions;
  readonly #lc: Logger;
  readonly #clock: Clock;
  readonly #activity: StepActivity;
  readonly #clients: GroupClients;
  #cvr: CVR | undefined;
  readonly #cells: CellMasks;
  /**
   * The epoch of a CVR this process created because the store had none, until the first
   * client is served from it (see #clientNotFound).
   */
  #createdEpoch: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #flush: CVRFlush;
  readonly #queries: GroupQueries;
  /** True while a step runs (between its start and end on the queue). */
  #stepping = false;
  readonly #pokes: GroupPokes;
  readonly #metrics: Metrics;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #ttlTimer: ClockTimer | undefined;
  #revalidateTimer: ReturnType<typeof setInterval> | undefined;
  #done = false;
  #broken = false;
  #advanceQueued = false;
  /** Replica changes arrived while no client was connected; not yet followed. */
  #behind = false;
  #resolveStopped: () => void = () => {};
  /** Resolves once the group is done and its CVR written and released. */
  readonly stopped: Promise<void>;

  constructor(options: ClientGroupOptions) {
    this.groupID = options.groupID;
    this.#o = options;
    this.#cells = new CellMasks(options.cells);
    this.#lc = options.logger.with({clientGroupID: options.groupID});
    this.#clock = options.clock ?? systemClock;
    this.#activity = options.activity ?? new StepActivity();
    this.#clients = new GroupClients(() => options.driver.lastMutationIDs?.(options.groupID) ?? {});
    this.#metrics = options.metrics ?? noMetrics;
    this.#pokes = new GroupPokes(() => this.#requireCVR(), this.#clients, this.#metrics);
    this.#queries = new GroupQueries({
      driver: options.driver,
      prepareQuery: options.prepareQuery,
      cells: this.#cells,
      limits: options.limits,
      lc: this.#lc,
      now: () => this.#clock.now(),
      metrics: this.#metrics,
      cvr: () => this.#requireCVR(),
    });
    this.#flush = new CVRFlush({
      store: options.store,
      limits: options.limits,
      activity: this.#activity,
      cvr: () => this.#cvr,
      done: () => this.#done,
      stepping: () => this.#stepping,
      queue: () => this.#queue,
      onError: e => this.#fail(e),
      metrics: this.#metrics,
      clock: options.clock,
    });
    this.stopped = new Promise(resolve => {
      this.#resolveStopped = resolve;
    });
    this.#revalidateTimer = setInterval(
      () => void this.reprepare(undefined, true),
      options.limits.revalidateQueriesMs,
    );
    this.#revalidateTimer.unref?.();
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Row records in the group's CVR (live rows and tombstones). */
  get rowCount(): number {
    return this.#cvr?.state.rows.size ?? 0;
  }

  /**
   * Runs `fn` after everything queued before it. Resolves false if the group was already
   * done (the caller must use a fresh group) or `fn` failed (which breaks the group).
   */
  #run(fn: () => Promise<void>): Promise<boolean> {
    const next = this.#queue.then(async () => {
      if (this.#done) return false;
      this.#stepping = true;
      this.#activity.begin();
      try {
        await fn();
        return true;
      } catch (e) {
        this.#fail(e);
        return false;
      } finally {
        this.#stepping = false;
        this.#activity.end();
      }
    });
    this.#queue = next.then(() => {});
    return next;
  }

  /** A failure, or the CVR's write refused (another node took the group over). */
  #fail(e: unknown): void {
    if (this.#broken) return;
    this.#broken = true; // either way the CVR is not released
    if (isOwnershipLost(e)) {
      this.#lc.info('Another node took this client group over; its clients go there');
      this.#clients.closeAll(GROUP_MOVED_CLOSE);
    } else {
      this.#lc.error('Client group failed; disconnecting its clients', {
        error: e instanceof Error ? e.name : 'unknown',
        reason: e instanceof Error ? e.message.slice(0, 200) : undefined,
      });
      this.#clients.failAll();
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#idleTimer);
    this.#clock.clearTimeout(this.#ttlTimer);
    clearInterval(this.#revalidateTimer);
    this.#o.driver.destroy();
    this.#o.onDone(this);
    void this.#finalize();
  }

  /** Waits for the last CVR write, then marks the CVR released (unless it broke). */
  async #finalize(): Promise<void> {
    try {
      await this.#flush.flushing;
      if (!this.#broken && this.#cvr) await this.#o.store.release(this.#cvr);
      this.#lc.debug('Released client group');
    } catch (e) {
      this.#lc.warn('Could not release client group', {
        error: e instanceof Error ? e.message.slice(0, 200) : 'unknown',
      });
    } finally {
      this.#resolveStopped();
    }
  }

  #requireCVR(): CVR {
    if (!this.#cvr) throw new Error('client group used before loading');
    return this.#cvr;
  }

  /** Loads the CVR and re-hydrates the queries it still holds. */
  async #load(): Promise<void> {
    if (this.#cvr) return;
    const {cvr, created} = await this.#o.store.load(this.groupID);
    this.#cvr = cvr;
    this.#createdEpoch = created ? cvr.state.epoch : undefined;
    const now = this.#clock.now();
    undesireEveryone(cvr, now);
    const step = new CVRStep(cvr);
    step.touchAllLive();
    cvr.dropAllRefs();
    await this.#queries.rehydrate(step, now);
    step.finish(this.#o.driver.version, false);
    this.#afterStep();
    this.#lc.debug('Loaded client group', {queries: cvr.state.queries.size});
  }

  /** The client's claims changed (updateAuth): its queries follow the new claims. */
  authChanged(client: GroupClient): Promise<boolean> {
    return this.#run(async () => {
      if (!this.#clients.isCurrent(client)) return;
      const cvr = this.#requireCVR();
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      await this.#queries.reprepareStale(step, client);
      this.#pokes.send(base, step.finish(this.#o.driver.version));
      this.#afterStep();
    });
  }

  /**
   * Re-prepares the live synced queries `client` wants, with its current context; without
   * a client, those of every connected client (revalidation). `revalidate` asks preparers
   * not to answer from a cache.
   */
  reprepare(client: GroupClient | undefined, revalidate = false): Promise<boolean> {
    return this.#run(async () => {
      if (!this.#cvr) return;
      if (client && !this.#clients.isCurrent(client)) return;
      const cvr = this.#cvr;
      const reprepared = await this.#queries.prepareAgain(client, this.#clients, revalidate);
      if (!reprepared) return;
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      await this.#queries.applyReprepared(step, reprepared);
      this.#queries.dropExpired(step);
      this.#pokes.send(base, step.finish(this.#o.driver.version));
      this.#afterStep();
    });
  }
  /**
   * A client joins: apply its desired queries, catch it up from its base version. Resolves
   * false if the group was released meanwhile (connect to a fresh one) or failed.
   */
  connect(client: GroupClient, baseVersion: string | null, desired: QueryPatch): Promise<boolean> {
    return this.#run(async () => {
      try {
        await this.#connect(client, baseVersion, desired);
      } catch (e) {
        client.fail('Internal', 'The server could not load this client group');
        throw e;
      }
    });
  }

  async #connect(client: GroupClient, baseVersion: string | null, desired: QueryPatch) {
    await this.#load();
    // Replica changes skipped while nobody was connected (see requestAdvance).
    if (this.#behind) await this.#advanceStep();
    const cvr = this.#requireCVR();
    if (this.#clientNotFound(baseVersion)) {
      client.fail(
        'ClientNotFound',
        'The server has no state for this client group any more (it was removed after a long ' +
          'inactivity); the client must drop its local state and sync again',
      );
      return;
    }
    clearTimeout(this.#idleTimer);
    this.#clients.replace(client.clientID);
    const now = this.#clock.now();
    // `connect` declares the client's whole set of queries: start from nothing.
    undesireAll(cvr, client.clientID, now);
    const pending = applyQueryPatch(cvr, client.clientID, desired, this.#o.limits, now);
    this.#queries.remember(desired);
    const base = cvr.cookie;
    const servable = servableSeq(cvr, baseVersion);
    // A client that starts from nothing gets the rows of the queries hydrated for it as
    // they come, in parts ahead of its catch-up poke.
    const pokeID = this.#pokes.nextID();
    const toClient = (text: string) => client.sendText(text, false);
    const parts = this.#o.limits.pokePartRows;
    const stream = servable === null ? new PokeStream(pokeID, parts, toClient, true) : undefined;
    const step = new CVRStep(cvr);
    try {
      await this.#queries.addRequested(step, client, pending, stream);
      await this.#queries.reprepareStale(step, client);
      this.#queries.dropExpired(step);
      stream?.endParts();
    } catch (e) {
      stream?.unmark();
      throw e;
    }
    // Other clients of the group get this step as a poke; the connecting one, below, as
    // part of its catch-up.
    const patch = step.finish(this.#o.driver.version, this.#clients.size > 0);
    // Query errors concern the connecting client only; it gets them in its catch-up.
    this.#pokes.send(base, {...patch, queryErrors: []});
    const afterParts = stream?.streamed ?? false;
    const catchUp = cvr.catchUp(servable, afterParts);
    const rows = afterParts && stream ? [...catchUp.rows, ...stream.finish()] : catchUp.rows;
    // The connecting client learns every client's last mutation id (it may have missed some).
    const lmids = this.#clients.allLastMutationIDs();
    client.sendText(
      this.#pokes.encode(
        catchUp.reset ? null : baseVersion,
        {rows, gotQueries: catchUp.gotQueries, queryErrors: patch.queryErrors},
        lmids,
        pokeID,
      ),
      false,
    );
    this.#clients.add(client);
    // From now on the CVR holds state some client has: other cookies are merely stale.
    this.#createdEpoch = undefined;
    this.#afterStep();
  }

  /**
   * The client holds a cookie, but the store had no CVR for this group when it was loaded
   * (never seen, or purged): its local state comes from a CVR that no longer exists, and it
   * may be ahead of anything this server can tell it. Zero answers this with ClientNotFound.
   * Once a client was served from the new CVR, an unknown cookie gets a reset as usual.
   */
  #clientNotFound(baseVersion: string | null): boolean {
    return baseVersion !== null && this.#createdEpoch !== undefined;
  }

  changeDesiredQueries(client: GroupClient, patch: QueryPatch): Promise<boolean> {
    return this.#run(async () => {
      if (!this.#clients.isCurrent(client)) return;
      const cvr = this.#requireCVR();
      const now = this.#clock.now();
      const pending = applyQueryPatch(cvr, client.clientID, patch, this.#o.limits, now);
      this.#queries.remember(patch);
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      // The rows of a large new query go ahead in parts to every client of the group (they
      // all get the step's poke); the poke then leaves out what the parts carried.
      const pokeID = this.#pokes.nextID();
      const toAll = (text: string) => this.#clients.sendText(text, false);
      const stream = new PokeStream(pokeID, this.#o.limits.pokePartRows, toAll, false);
      try {
        await this.#queries.addRequested(step, client, pending, stream);
        this.#queries.dropExpired(step);
        stream.endParts();
        const patch = step.finish(this.#o.driver.version, true, stream.streamed);
        if (stream.streamed) this.#pokes.sendAfterParts(base, patch, pokeID);
        else this.#pokes.send(base, patch);
      } finally {
        stream.unmark();
      }
      this.#afterStep();
    });
  }

  disconnect(client: GroupClient): Promise<boolean> {
    return this.#run(() => {
      if (!this.#clients.isCurrent(client)) return Promise.resolve();
      this.#clients.delete(client.clientID);
      const cvr = this.#requireCVR();
      undesireAll(cvr, client.clientID, this.#clock.now());
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      this.#queries.dropExpired(step);
      this.#pokes.send(base, step.finish(this.#o.driver.version));
      this.#afterStep();
      return Promise.resolve();
    });
  }

  /** The replica moved on. Requests made while one is pending are coalesced. */
  requestAdvance(): void {
    // A group nobody is connected to (and that runs no step) does not follow the replica:
    // it catches up when a client connects, or is released without doing the work. One
    // write would otherwise cost every recently disconnected group a step.
    if (this.#clients.size === 0 && !this.#stepping) {
      this.#behind = true;
      return;
    }
    if (this.#advanceQueued) return;
    this.#advanceQueued = true;
    void this.advance();
  }

  /** Advances every query to the replica's head and pokes what changed. */
  advance(): Promise<boolean> {
    return this.#run(() => this.#advanceStep());
  }

  async #advanceStep(): Promise<void> {
    this.#advanceQueued = false;
    this.#behind = false;
    if (!this.#cvr) return;
    const cvr = this.#cvr;
    const t0 = performance.now();
    const result = await this.#o.driver.advance();
    const base = cvr.cookie;
    const step = new CVRStep(cvr);
    await recordAdvance(cvr, step, this.#cells, result.changes);
    this.#queries.dropExpired(step);
    const lmids = result.clientsChanged ? this.#clients.lastMutationIDChanges() : {};
    this.#pokes.send(base, step.finish(result.version), lmids);
    this.#afterStep();
    this.#metrics.advance(performance.now() - t0);
  }

  #expire(): Promise<boolean> {
    return this.#run(() => {
      const cvr = this.#requireCVR();
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      this.#queries.dropExpired(step);
      this.#pokes.send(base, step.finish(this.#o.driver.version));
      this.#afterStep();
      return Promise.resolve();
    });
  }

  /** Purges old tombstones, queues the CVR write, and (re)arms the TTL and idle timers. */
  #afterStep(): void {
    const cvr = this.#requireCVR();
    cvr.purgeTombstones(this.#o.limits.maxTombstones);
    if (cvr.hasDirty) this.#flush.schedule();
    this.#clock.clearTimeout(this.#ttlTimer);
    const expiry = nextExpiry(cvr);
    if (expiry !== undefined) {
      const wait = Math.max(0, expiry - this.#clock.now()) + 1;
      (this.#ttlTimer = this.#clock.setTimeout(() => void this.#expire(), wait)).unref();
    }
    clearTimeout(this.#idleTimer);
    if (this.#clients.size === 0) {
      this.#idleTimer = setTimeout(() => void this.#releaseIfIdle(), this.#o.limits.groupIdleMs);
      this.#idleTimer.unref?.();
    }
  }

  #releaseIfIdle(): Promise<boolean> {
    return this.#run(async () => {
      if (this.#clients.size > 0) return;
      await this.#releaseNow();
    });
  }

  async #releaseNow(): Promise<void> {
    this.#finish();
    await this.stopped;
  }

  /** What the admin endpoints show of the group (group-inspect.ts). */
  summary(): inspect.GroupSummary {
    return inspect.summarizeGroup(this.groupID, this.#clients.size, this.#cvr);
  }

  detail(): inspect.GroupDetail {
    const hydrations = this.#queries.hydrations;
    return inspect.describeGroup(this.groupID, this.#clients.size, this.#cvr, hydrations);
  }

  /**
   * Ends the group for good: its clients get ClientNotFound (they drop their state and sync
   * again); the CVR is not released: the caller deletes it (resolved with) once stopped.
   */
  drop(): Promise<CVR | undefined> {
    const dropping = this.#queue.then(async () => {
      this.#broken = true;
      this.#clients.failAll('ClientNotFound', 'An operator removed this client group; sync again');
      await this.#releaseNow();
      return this.#cvr;
    });
    this.#queue = dropping.then(noop, noop);
    return dropping;
  }

  /** Stops the group: closes its clients, writes what is left and releases the CVR. */
  stop(): Promise<void> {
    const closing = this.#queue.then(async () => {
      this.#clients.clear();
      await this.#releaseNow();
    });
    this.#queue = closing.catch(() => {});
    return closing;
  }
}
