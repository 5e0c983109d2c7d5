// One client group in memory: its CVR, its query driver, its connected clients. Every
// operation runs in order on one queue, and each produces at most one poke to every
// connected client of the group, followed by one CVR write. See docs/view-syncer.md.
import {setImmediate as nextTurn, setTimeout as sleep} from 'node:timers/promises';
import type {AST, QueryPatch, RowValue} from '@zync/protocol';
import {stableStringify, type Logger} from '@zync/shared';
import {CellMasks} from './cell-masks.ts';
import type {CVR, CVRRow} from './cvr.ts';
import {CVRStep, type StepPatch} from './cvr-step.ts';
import type {CVRStore} from './cvr-store.ts';
import {parseVersion} from './cvr-version.ts';
import {
  applyQueryPatch,
  expiredQueries,
  nextExpiry,
  undesireAll,
  undesireEveryone,
} from './desired-queries.ts';
import type {
  CellVisibility,
  GroupClient,
  QueryContext,
  QueryPreparer,
  RequestedQuery,
} from './group-client.ts';
import type {SyncLimits} from './limits.ts';
import {encodePokeFrame, type PokeMeta} from './poke-encoder.ts';
import {PokeStream} from './poke-stream.ts';
import {hydrationQueryError} from './hydration-budget.ts';
import {checkQueryBudget, QUERY_BUDGET_SETTINGS} from './query-budget.ts';
import {StepActivity} from './step-activity.ts';
import {TimeSlice} from './time-slice.ts';
import {recordAdvance, recordRow} from './advance-rows.ts';
import type {QueryDriver} from './query-driver.ts';

/** How long a CVR write waits at most for other groups' steps to end. */
const MAX_WRITE_WAIT_MS = 1_000;

/** CVR writes larger than this wait `largeCVRWriteDelayMs` (see SyncLimits). */
const LARGE_CVR_WRITE_ROWS = 2_000;

export type ClientGroupOptions = {
  readonly groupID: string;
  readonly store: CVRStore;
  readonly driver: QueryDriver;
  readonly prepareQuery: QueryPreparer;
  /** Which columns of rows the cell select rules hide (none when absent). */
  readonly cells?: CellVisibility | undefined;
  readonly limits: SyncLimits;
  readonly logger: Logger;
  /** Called once the group has no clients for `groupIdleMs`, or broke. */
  readonly onDone: (group: ClientGroup) => void;
  readonly now?: () => number;
  /** Steps of all groups of the process (CVR writes wait for them); default: this group's. */
  readonly activity?: StepActivity;
};

export class ClientGroup {
  readonly groupID: string;
  readonly #o: ClientGroupOptions;
  readonly #lc: Logger;
  readonly #now: () => number;
  readonly #activity: StepActivity;
  readonly #clients = new Map<string, GroupClient>();
  #cvr: CVR | undefined;
  readonly #cells: CellMasks;
  /**
   * The epoch of a CVR this process created because the store had none, until the first
   * client is served from it (see #clientNotFound).
   */
  #createdEpoch: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  #flushing: Promise<void> = Promise.resolve();
  #flushScheduled = false;
  /** True while a step runs (between its start and end on the queue). */
  #stepping = false;
  #pokeCounter = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #ttlTimer: ReturnType<typeof setTimeout> | undefined;
  #revalidateTimer: ReturnType<typeof setInterval> | undefined;
  #done = false;
  #broken = false;
  #advanceQueued = false;
  /** Replica changes arrived while no client was connected; not yet followed. */
  #behind = false;
  /** The last mutation ids the group's clients have been told. */
  #lmids: Record<string, number> = {};
  #resolveStopped: () => void = () => {};
  /** Resolves once the group is done and its CVR written and released. */
  readonly stopped: Promise<void>;
  /** Each query as a client asked for it (before preparing), to prepare it again. */
  readonly #requested = new Map<string, RequestedQuery>();
  /** The auth key (see #authKey) each live query was prepared with; unknown after a load. */
  readonly #preparedWith = new Map<string, string>();

  constructor(options: ClientGroupOptions) {
    this.groupID = options.groupID;
    this.#o = options;
    this.#cells = new CellMasks(options.cells);
    this.#lc = options.logger.with({clientGroupID: options.groupID});
    this.#now = options.now ?? Date.now;
    this.#activity = options.activity ?? new StepActivity();
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

  #fail(e: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#lc.error('Client group failed; disconnecting its clients', {
      error: e instanceof Error ? e.name : 'unknown',
      reason: e instanceof Error ? e.message.slice(0, 200) : undefined,
    });
    for (const c of this.#clients.values()) c.fail('Internal', 'The server lost this client group');
    this.#clients.clear();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#ttlTimer);
    clearInterval(this.#revalidateTimer);
    this.#o.driver.destroy();
    this.#o.onDone(this);
    void this.#finalize();
  }

  /** Waits for the last CVR write, then marks the CVR released (unless it broke). */
  async #finalize(): Promise<void> {
    try {
      await this.#flushing;
      if (!this.#broken && this.#cvr) await this.#o.store.release(this.groupID);
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
    const now = this.#now();
    undesireEveryone(cvr, now);
    const step = new CVRStep(cvr);
    step.touchAllLive();
    cvr.dropAllRefs();
    const expired = new Set(expiredQueries(cvr, now).map(q => q.hash));
    const slice = new TimeSlice();
    for (const q of [...cvr.state.queries.values()]) {
      if (q.deleted) continue;
      if (q.gotSeq === null || !q.ast) {
        cvr.forgetQuery(q.hash);
      } else if (expired.has(q.hash)) {
        step.lostQuery(q.hash);
      } else {
        await this.#hydrate(step, {hash: q.hash, ast: q.ast}, true, undefined, undefined, slice);
        await slice.yield();
      }
    }
    step.finish(this.#o.driver.version, false);
    this.#afterStep();
    this.#lc.debug('Loaded client group', {queries: cvr.state.queries.size});
  }

  /**
   * Adds a query to the driver and its rows to the step. `known` queries were got before
   * (re-hydration after load): no gotQueries change unless they fail.
   */
  async #hydrate(
    step: CVRStep,
    ast: {readonly hash: string; readonly ast: AST},
    known: boolean,
    ctx: QueryContext | undefined,
    stream?: PokeStream,
    slice?: TimeSlice,
  ) {
    const cvr = this.#requireCVR();
    const q = cvr.state.queries.get(ast.hash);
    if (!q) return;
    try {
      this.#cells.set(ast.hash, ast.ast, ctx);
      const rows = await this.#o.driver.addQuery(ast.hash, ast.ast);
      let n = 0;
      for (const r of rows) {
        const added = this.#addRow(step, ast.hash, r);
        if (stream) stream.add(step, added);
        if (++n % 1024 === 0) await slice?.yield();
      }
      q.ast = ast.ast;
      cvr.markQueryDirty(q.hash);
      if (!known) step.gotQuery(q.hash);
    } catch (e) {
      this.#o.driver.removeQuery(ast.hash);
      this.#cells.delete(ast.hash);
      step.dropQueryRows(ast.hash);
      this.#lc.warn('Query failed to hydrate', {
        hash: ast.hash,
        error: e instanceof Error ? e.message.slice(0, 200) : 'unknown',
      });
      step.queryError(hydrationQueryError(ast.hash, e));
      this.#dropFailed(step, ast.hash);
    }
  }

  /** Adds a row of query `hash`, without the columns the cell select rules hide. */
  #addRow(
    step: CVRStep,
    hash: string,
    r: {readonly table: string; readonly id: RowValue; readonly row: RowValue},
  ): CVRRow {
    return recordRow(step, this.#cells, hash, r);
  }

  /** A query that could not be prepared or run: forget it (or keep its tombstone). */
  #dropFailed(step: CVRStep, hash: string): void {
    this.#cells.delete(hash);
    const cvr = this.#requireCVR();
    const q = cvr.state.queries.get(hash);
    if (!q) return;
    q.desiredBy.clear();
    q.inactiveSince = null;
    if (q.gotSeq !== null && !q.deleted) {
      step.lostQuery(hash);
    } else if (q.patchSeq === 0) {
      cvr.forgetQuery(hash);
    } else {
      cvr.markQueryDirty(hash);
    }
  }

  /**
   * The requested queries within the query budget; the others get a QueryError before any
   * work is done on them (see query-budget.ts).
   */
  #withinBudget(step: CVRStep, pending: RequestedQuery[]): RequestedQuery[] {
    const cvr = this.#requireCVR();
    const limits = this.#o.limits;
    let live = 0;
    for (const q of cvr.state.queries.values()) if (!q.deleted && q.gotSeq !== null) live++;
    const out: RequestedQuery[] = [];
    for (const req of pending) {
      const bad =
        live >= limits.maxQueriesPerGroup
          ? `The client group already has ${live} queries; the limit is ${limits.maxQueriesPerGroup} (${QUERY_BUDGET_SETTINGS.maxQueriesPerGroup}). Remove queries it no longer needs or raise the setting`
          : req.ast && checkQueryBudget(req.ast, limits);
      if (bad) {
        step.queryError({hash: req.hash, kind: 'refused', message: bad});
        this.#dropFailed(step, req.hash);
        continue;
      }
      live++;
      out.push(req);
    }
    return out;
  }

  async #addRequested(
    step: CVRStep,
    client: GroupClient,
    pending: RequestedQuery[],
    stream?: PokeStream,
  ) {
    pending = this.#withinBudget(step, pending);
    const slice = new TimeSlice();
    // Started together so that a preparer can batch them (one API server call).
    const preparing = pending.map(req => this.#o.prepareQuery(req, client.context));
    for (const p of preparing) p.catch(() => {});
    for (const [i, req] of pending.entries()) {
      const prepared = await preparing[i]!;
      if (!prepared.ok) {
        step.queryError(prepared.error);
        this.#dropFailed(step, req.hash);
        continue;
      }
      this.#preparedWith.set(req.hash, authKey(client));
      await this.#hydrate(
        step,
        {hash: req.hash, ast: prepared.ast},
        false,
        client.context,
        stream,
        slice,
      );
      await slice.yield();
    }
  }

  // --- Re-preparing when a client's claims change --------------------------------------
  // A query's AST carries permission filters bound to the claims of the client that
  // prepared it. When a client connects, or refreshes its token (updateAuth), with other
  // claims, its live queries are prepared again; those whose AST changed are re-hydrated,
  // so the poke removes rows the new claims deny and adds newly allowed ones.

  #remember(patch: QueryPatch): void {
    for (const op of patch) {
      if (op.op === 'put') {
        this.#requested.set(op.hash, {hash: op.hash, ast: op.ast, name: op.name, args: op.args});
      }
    }
  }

  async #reprepareStale(step: CVRStep, client: GroupClient): Promise<void> {
    const cvr = this.#requireCVR();
    const key = authKey(client);
    for (const [hash, req] of this.#requested) {
      const q = cvr.state.queries.get(hash);
      if (!q) {
        this.#requested.delete(hash);
        this.#preparedWith.delete(hash);
        continue;
      }
      if (q.deleted || q.gotSeq === null || !q.desiredBy.has(client.clientID)) continue;
      if (this.#preparedWith.get(hash) === key) continue;
      const prepared = await this.#o.prepareQuery(req, client.context);
      if (!prepared.ok) {
        this.#preparedWith.delete(hash);
        this.#o.driver.removeQuery(hash);
        step.dropQueryRows(hash);
        step.queryError(prepared.error);
        this.#dropFailed(step, hash);
        continue;
      }
      this.#preparedWith.set(hash, key);
      if (
        q.ast &&
        stableStringify(q.ast) === stableStringify(prepared.ast) &&
        !this.#cells.differs(hash, prepared.ast, client.context)
      ) {
        continue;
      }
      step.dropQueryRows(hash);
      await this.#hydrate(step, {hash, ast: prepared.ast}, true, client.context);
    }
  }

  /** The client's claims changed (updateAuth): its queries follow the new claims. */
  authChanged(client: GroupClient): Promise<boolean> {
    return this.#run(async () => {
      if (this.#clients.get(client.clientID) !== client) return;
      const cvr = this.#requireCVR();
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      await this.#reprepareStale(step, client);
      this.#poke(base, step.finish(this.#o.driver.version));
      this.#afterStep();
    });
  }
  // --------------------------------------------------------------------------------------

  // --- Re-preparing synced queries (token refresh, revalidation) ------------------------
  // A synced query's AST is what the app's API server granted for a token at some time.
  // After updateAuth, and every revalidateQueriesMs, synced queries are prepared again;
  // one whose AST changed is re-hydrated in the same step, so the poke removes the rows no
  // longer granted and adds new ones. One that now fails gets its query error.

  /**
   * Re-prepares the live synced queries `client` wants, with its current context; without
   * a client, those of every connected client (revalidation). `revalidate` asks preparers
   * not to answer from a cache.
   */
  reprepare(client: GroupClient | undefined, revalidate = false): Promise<boolean> {
    return this.#run(async () => {
      if (!this.#cvr) return;
      if (client && this.#clients.get(client.clientID) !== client) return;
      const cvr = this.#cvr;
      const targets: {hash: string; req: RequestedQuery; client: GroupClient}[] = [];
      for (const q of cvr.state.queries.values()) {
        if (q.deleted || q.gotSeq === null || q.name === null || !q.ast) continue;
        const by = client
          ? q.desiredBy.has(client.clientID)
            ? client
            : undefined
          : [...q.desiredBy.keys()].map(id => this.#clients.get(id)).find(c => c !== undefined);
        if (by)
          targets.push({
            hash: q.hash,
            req: {hash: q.hash, name: q.name, args: q.args ?? []},
            client: by,
          });
      }
      if (targets.length === 0) return;
      const results = await Promise.allSettled(
        targets.map(t =>
          this.#o.prepareQuery(
            t.req,
            revalidate ? {...t.client.context, revalidate} : t.client.context,
          ),
        ),
      );
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      for (const [i, t] of targets.entries()) {
        const r = results[i]!;
        const q = cvr.state.queries.get(t.hash);
        if (!q || q.deleted || q.gotSeq === null) continue;
        if (r.status === 'rejected') {
          // The query keeps its AST until the next attempt.
          this.#lc.warn('Could not prepare a synced query again', {
            hash: t.hash,
            error: r.reason instanceof Error ? r.reason.name : 'unknown',
          });
          continue;
        }
        if (!r.value.ok) {
          this.#o.driver.removeQuery(t.hash);
          step.dropQueryRows(t.hash);
          step.queryError(r.value.error);
          this.#dropFailed(step, t.hash);
          continue;
        }
        if (
          q.ast &&
          JSON.stringify(q.ast) === JSON.stringify(r.value.ast) &&
          !this.#cells.differs(t.hash, r.value.ast, t.client.context)
        ) {
          continue;
        }
        this.#o.driver.removeQuery(t.hash);
        step.dropQueryRows(t.hash);
        await this.#hydrate(step, {hash: t.hash, ast: r.value.ast}, true, t.client.context);
      }
      this.#dropExpired(step);
      this.#poke(base, step.finish(this.#o.driver.version));
      this.#afterStep();
    });
  }
  // --------------------------------------------------------------------------------------

  #dropExpired(step: CVRStep): void {
    const cvr = this.#requireCVR();
    for (const q of expiredQueries(cvr, this.#now())) {
      this.#o.driver.removeQuery(q.hash);
      this.#cells.delete(q.hash);
      step.dropQueryRows(q.hash);
      step.lostQuery(q.hash);
    }
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
    const previous = this.#clients.get(client.clientID);
    if (previous) {
      this.#clients.delete(client.clientID);
      previous.fail('InvalidConnectionRequest', 'Replaced by a newer connection of this client');
    }
    const now = this.#now();
    // `connect` declares the client's whole set of queries: start from nothing.
    undesireAll(cvr, client.clientID, now);
    const pending = applyQueryPatch(cvr, client.clientID, desired, this.#o.limits, now);
    this.#remember(desired);
    const base = cvr.cookie;
    const servable = this.#servableSeq(baseVersion);
    // A client that starts from nothing gets the rows of the queries hydrated for it as
    // they come, in parts ahead of its catch-up poke.
    const pokeID = this.#nextPokeID();
    const stream =
      servable === null
        ? new PokeStream(
            pokeID,
            this.#o.limits.pokePartRows,
            text => client.sendText(text, false),
            true,
          )
        : undefined;
    const step = new CVRStep(cvr);
    try {
      await this.#addRequested(step, client, pending, stream);
      await this.#reprepareStale(step, client);
      this.#dropExpired(step);
      stream?.endParts();
    } catch (e) {
      stream?.unmark();
      throw e;
    }
    // Other clients of the group get this step as a poke; the connecting one, below, as
    // part of its catch-up.
    const patch = step.finish(this.#o.driver.version, this.#clients.size > 0);
    // Query errors concern the connecting client only; it gets them in its catch-up.
    this.#poke(base, {...patch, queryErrors: []});
    const afterParts = stream?.streamed ?? false;
    const catchUp = cvr.catchUp(servable, afterParts);
    const rows = afterParts && stream ? [...catchUp.rows, ...stream.finish()] : catchUp.rows;
    // The connecting client learns every client's last mutation id (it may have missed some).
    this.#lmids = this.#o.driver.lastMutationIDs?.(this.groupID) ?? {};
    client.sendText(
      this.#encodePoke(
        catchUp.reset ? null : baseVersion,
        {rows, gotQueries: catchUp.gotQueries, queryErrors: patch.queryErrors},
        this.#lmids,
        pokeID,
      ),
      false,
    );
    this.#clients.set(client.clientID, client);
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

  /** The step a client's cookie stands for, or null when it cannot be served as a delta. */
  #servableSeq(baseVersion: string | null): number | null {
    if (baseVersion === null) return null;
    const cvr = this.#requireCVR();
    const v = parseVersion(baseVersion);
    if (!v || v.epoch !== cvr.state.epoch) return null;
    if (v.seq > cvr.state.seq || v.seq < cvr.state.horizon) return null;
    return v.seq;
  }

  changeDesiredQueries(client: GroupClient, patch: QueryPatch): Promise<boolean> {
    return this.#run(async () => {
      if (this.#clients.get(client.clientID) !== client) return;
      const cvr = this.#requireCVR();
      const now = this.#now();
      const pending = applyQueryPatch(cvr, client.clientID, patch, this.#o.limits, now);
      this.#remember(patch);
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      // The rows of a large new query go ahead in parts to every client of the group (they
      // all get the step's poke); the poke then leaves out what the parts carried.
      const pokeID = this.#nextPokeID();
      const stream = new PokeStream(
        pokeID,
        this.#o.limits.pokePartRows,
        text => {
          for (const c of this.#clients.values()) c.sendText(text, false);
        },
        false,
      );
      try {
        await this.#addRequested(step, client, pending, stream);
        this.#dropExpired(step);
        stream.endParts();
        const patch = step.finish(this.#o.driver.version, true, stream.streamed);
        if (stream.streamed) this.#pokeAfterParts(base, patch, pokeID);
        else this.#poke(base, patch);
      } finally {
        stream.unmark();
      }
      this.#afterStep();
    });
  }

  /** The poke that ends a step whose rows went ahead in parts: always sent, never cut off. */
  #pokeAfterParts(base: string, p: StepPatch, pokeID: string): void {
    const text = this.#encodePoke(base, p, {}, pokeID);
    for (const c of this.#clients.values()) c.sendText(text, false);
  }

  disconnect(client: GroupClient): Promise<boolean> {
    return this.#run(() => {
      if (this.#clients.get(client.clientID) !== client) return Promise.resolve();
      this.#clients.delete(client.clientID);
      const cvr = this.#requireCVR();
      undesireAll(cvr, client.clientID, this.#now());
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      this.#dropExpired(step);
      this.#poke(base, step.finish(this.#o.driver.version));
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
    const result = await this.#o.driver.advance();
    const base = cvr.cookie;
    const step = new CVRStep(cvr);
    await recordAdvance(cvr, step, this.#cells, result.changes);
    this.#dropExpired(step);
    const lmids = result.clientsChanged ? this.#lmidChanges() : {};
    this.#poke(base, step.finish(result.version), lmids);
    this.#afterStep();
  }

  /** Last mutation ids that moved since the group's clients were last told. */
  #lmidChanges(): Record<string, number> {
    const now = this.#o.driver.lastMutationIDs?.(this.groupID) ?? {};
    const changes: Record<string, number> = {};
    for (const [c, id] of Object.entries(now)) {
      if (this.#lmids[c] !== id) changes[c] = id;
    }
    this.#lmids = now;
    return changes;
  }

  #expire(): Promise<boolean> {
    return this.#run(() => {
      const cvr = this.#requireCVR();
      const base = cvr.cookie;
      const step = new CVRStep(cvr);
      this.#dropExpired(step);
      this.#poke(base, step.finish(this.#o.driver.version));
      this.#afterStep();
      return Promise.resolve();
    });
  }

  #nextPokeID(): string {
    return `${this.#requireCVR().state.epoch}.${++this.#pokeCounter}`;
  }

  #encodePoke(
    baseVersion: string | null,
    patch: StepPatch,
    lastMutationIDChanges: Record<string, number> = {},
    pokeID = this.#nextPokeID(),
  ): string {
    const cvr = this.#requireCVR();
    const meta: PokeMeta = {
      pokeID,
      baseVersion,
      version: cvr.cookie,
      gotQueries: patch.gotQueries,
      lastMutationIDChanges,
    };
    if (patch.queryErrors.length > 0) meta.queryErrors = patch.queryErrors;
    return encodePokeFrame(meta, patch.rows);
  }

  /** Sends one step to every connected client (if it changed anything they can see). */
  #poke(base: string, p: StepPatch, lmids: Record<string, number> = {}): void {
    if (this.#clients.size === 0) return;
    if (
      p.rows.length === 0 &&
      p.gotQueries.length === 0 &&
      p.queryErrors.length === 0 &&
      Object.keys(lmids).length === 0
    ) {
      return;
    }
    const text = this.#encodePoke(base, p, lmids);
    for (const c of this.#clients.values()) c.sendText(text);
  }

  /** Purges old tombstones, queues the CVR write, and (re)arms the TTL and idle timers. */
  #afterStep(): void {
    const cvr = this.#requireCVR();
    cvr.purgeTombstones(this.#o.limits.maxTombstones);
    if (cvr.hasDirty) this.#scheduleFlush();
    clearTimeout(this.#ttlTimer);
    const expiry = nextExpiry(cvr);
    if (expiry !== undefined) {
      this.#ttlTimer = setTimeout(() => void this.#expire(), Math.max(0, expiry - this.#now()) + 1);
      this.#ttlTimer.unref?.();
    }
    clearTimeout(this.#idleTimer);
    if (this.#clients.size === 0) {
      this.#idleTimer = setTimeout(() => void this.#releaseIfIdle(), this.#o.limits.groupIdleMs);
      this.#idleTimer.unref?.();
    }
  }

  /**
   * Pokes go out before their CVR write lands (see docs/cvr.md for what a crash means).
   * The write waits for the previous one and then for the event loop to turn, so the
   * pokes of every group woken by the same replica change go out first; what changed is
   * taken between two steps (never from a step half done), so steps settled meanwhile
   * become one write, and row hashes are computed there, off the poke's path. A large
   * write (a hydration) also waits `largeCVRWriteDelayMs` for the clients to apply it.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.#flushing = this.#flushing
      .then(() => this.#betweenSteps())
      .then(async () => {
        // A large write waits before it even builds its records: that work would hold up
        // the event loop while the poke it follows is still being written to the socket.
        if ((this.#cvr?.dirtyRowCount ?? 0) > LARGE_CVR_WRITE_ROWS && !this.#done) {
          await sleep(this.#o.limits.largeCVRWriteDelayMs);
          await this.#betweenSteps();
        }
        this.#flushScheduled = false;
        const cvr = this.#cvr;
        if (!cvr?.hasDirty) return;
        return this.#o.store.flush(cvr.takeWrites());
      })
      .catch((e: unknown) => this.#fail(e));
  }

  /**
   * Resolves on a later turn of the event loop at which this group runs no step, and no
   * other group does either (for at most MAX_WRITE_WAIT_MS).
   */
  async #betweenSteps(): Promise<void> {
    await nextTurn();
    await this.#activity.idle(MAX_WRITE_WAIT_MS);
    while (this.#stepping) {
      await this.#queue;
      await nextTurn();
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

/** What a prepared AST depends on: the claims, and (opaque tokens) whether there is a token. */
function authKey(client: GroupClient): string {
  return stableStringify([client.context.authData, client.context.token !== undefined]);
}
