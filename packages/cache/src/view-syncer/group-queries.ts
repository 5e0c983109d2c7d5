// A client group's queries: adding the ones clients ask for (within the query budget),
// preparing them again when claims change or on revalidation, hydrating them into a step,
// and dropping the ones that failed or expired. See docs/view-syncer.md.
import type {AST, QueryPatch, RowValue} from '@zync/protocol';
import {stableStringify, type Logger} from '@zync/shared';
import {recordRow} from './advance-rows.ts';
import type {CellMasks} from './cell-masks.ts';
import type {CVR, CVRRow} from '../cvr/cvr.ts';
import type {CVRStep} from '../cvr/cvr-step.ts';
import {expiredQueries} from './desired-queries.ts';
import type {
  GroupClient,
  PreparedQuery,
  QueryContext,
  QueryPreparer,
  RequestedQuery,
} from './group-client.ts';
import {hydrationQueryError} from './hydration-budget.ts';
import type {SyncLimits} from '../server/limits.ts';
import type {PokeStream} from './poke-stream.ts';
import {checkQueryBudget, QUERY_BUDGET_SETTINGS} from './query-budget.ts';
import type {QueryDriver} from './query-driver.ts';
import {TimeSlice} from './time-slice.ts';
import type {Metrics} from '../metrics/metrics.ts';
import type {Hydration} from './group-inspect.ts';

export type GroupQueriesOptions = {
  readonly driver: QueryDriver;
  readonly prepareQuery: QueryPreparer;
  readonly cells: CellMasks;
  readonly limits: SyncLimits;
  readonly lc: Logger;
  readonly now: () => number;
  /** The group's CVR; throws before it is loaded. */
  readonly cvr: () => CVR;
  readonly metrics: Metrics;
};

/** Live synced queries prepared again, with the client each was prepared for. */
export type Reprepared = {
  readonly targets: readonly {hash: string; req: RequestedQuery; client: GroupClient}[];
  readonly results: readonly PromiseSettledResult<PreparedQuery>[];
};

export class GroupQueries {
  readonly #o: GroupQueriesOptions;
  /** Each query as a client asked for it (before preparing), to prepare it again. */
  readonly #requested = new Map<string, RequestedQuery>();
  /** The auth key (see authKey) each live query was prepared with; unknown after a load. */
  readonly #preparedWith = new Map<string, string>();
  /** The last hydration of each query in this process (admin endpoints). */
  readonly hydrations = new Map<string, Hydration>();

  constructor(options: GroupQueriesOptions) {
    this.#o = options;
  }

  /** After a load: re-hydrates the live queries the CVR holds; forgets or expires others. */
  async rehydrate(step: CVRStep, now: number): Promise<void> {
    const cvr = this.#o.cvr();
    const expired = new Set(expiredQueries(cvr, now).map(q => q.hash));
    const slice = new TimeSlice();
    for (const q of [...cvr.state.queries.values()]) {
      if (q.deleted) continue;
      if (q.gotSeq === null || !q.ast) {
        cvr.forgetQuery(q.hash);
      } else if (expired.has(q.hash)) {
        step.lostQuery(q.hash);
      } else {
        await this.hydrate(step, {hash: q.hash, ast: q.ast}, true, undefined, undefined, slice);
        await slice.yield();
      }
    }
  }

  /**
   * Adds a query to the driver and its rows to the step. `known` queries were got before
   * (re-hydration after load): no gotQueries change unless they fail.
   */
  async hydrate(
    step: CVRStep,
    ast: {readonly hash: string; readonly ast: AST},
    known: boolean,
    ctx: QueryContext | undefined,
    stream?: PokeStream,
    slice?: TimeSlice,
  ) {
    const cvr = this.#o.cvr();
    const q = cvr.state.queries.get(ast.hash);
    if (!q) return;
    const t0 = performance.now();
    try {
      this.#o.cells.set(ast.hash, ast.ast, ctx);
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
      this.#hydrated(ast.hash, ast.ast.table, n, performance.now() - t0);
    } catch (e) {
      this.#o.driver.removeQuery(ast.hash);
      this.#o.cells.delete(ast.hash);
      step.dropQueryRows(ast.hash);
      this.#o.lc.warn('Query failed to hydrate', {
        hash: ast.hash,
        error: e instanceof Error ? e.message.slice(0, 200) : 'unknown',
      });
      step.queryError(hydrationQueryError(ast.hash, e));
      this.#dropFailed(step, ast.hash);
    }
  }

  #hydrated(hash: string, table: string, rows: number, ms: number): void {
    this.#o.metrics.hydration(ms);
    this.hydrations.set(hash, {ms, rows, at: Date.now()});
    if (ms >= this.#o.limits.slowHydrateMs) {
      // The hash and the table name the query; its arguments and rows are user data.
      this.#o.lc.warn('Slow query hydration', {hash, table, rows, ms: Math.round(ms)});
    }
  }

  /** Adds a row of query `hash`, without the columns the cell select rules hide. */
  #addRow(
    step: CVRStep,
    hash: string,
    r: {readonly table: string; readonly id: RowValue; readonly row: RowValue},
  ): CVRRow {
    return recordRow(step, this.#o.cells, hash, r);
  }

  /** A query that could not be prepared or run: forget it (or keep its tombstone). */
  #dropFailed(step: CVRStep, hash: string): void {
    this.#o.cells.delete(hash);
    this.hydrations.delete(hash);
    const cvr = this.#o.cvr();
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
    const cvr = this.#o.cvr();
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

  async addRequested(
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
      await this.hydrate(
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

  remember(patch: QueryPatch): void {
    for (const op of patch) {
      if (op.op === 'put') {
        this.#requested.set(op.hash, {hash: op.hash, ast: op.ast, name: op.name, args: op.args});
      }
    }
  }

  async reprepareStale(step: CVRStep, client: GroupClient): Promise<void> {
    const cvr = this.#o.cvr();
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
        !this.#o.cells.differs(hash, prepared.ast, client.context)
      ) {
        continue;
      }
      step.dropQueryRows(hash);
      await this.hydrate(step, {hash, ast: prepared.ast}, true, client.context);
    }
  }
  // --------------------------------------------------------------------------------------

  // --- Re-preparing synced queries (token refresh, revalidation) ------------------------
  // A synced query's AST is what the app's API server granted for a token at some time.
  // After updateAuth, and every revalidateQueriesMs, synced queries are prepared again;
  // one whose AST changed is re-hydrated in the same step, so the poke removes the rows no
  // longer granted and adds new ones. One that now fails gets its query error.

  /**
   * Prepares again the live synced queries `client` wants, with its current context;
   * without a client, those of every connected client (revalidation). `revalidate` asks
   * preparers not to answer from a cache. Undefined when there is none.
   */
  async prepareAgain(
    client: GroupClient | undefined,
    clients: {get(clientID: string): GroupClient | undefined},
    revalidate: boolean,
  ): Promise<Reprepared | undefined> {
    const cvr = this.#o.cvr();
    const targets: {hash: string; req: RequestedQuery; client: GroupClient}[] = [];
    for (const q of cvr.state.queries.values()) {
      if (q.deleted || q.gotSeq === null || q.name === null || !q.ast) continue;
      const by = client
        ? q.desiredBy.has(client.clientID)
          ? client
          : undefined
        : [...q.desiredBy.keys()].map(id => clients.get(id)).find(c => c !== undefined);
      if (by)
        targets.push({
          hash: q.hash,
          req: {hash: q.hash, name: q.name, args: q.args ?? []},
          client: by,
        });
    }
    if (targets.length === 0) return undefined;
    const results = await Promise.allSettled(
      targets.map(t =>
        this.#o.prepareQuery(
          t.req,
          revalidate ? {...t.client.context, revalidate} : t.client.context,
        ),
      ),
    );
    return {targets, results};
  }

  /** Re-hydrates into the step the queries whose prepared AST changed; drops failed ones. */
  async applyReprepared(step: CVRStep, {targets, results}: Reprepared): Promise<void> {
    const cvr = this.#o.cvr();
    for (const [i, t] of targets.entries()) {
      const r = results[i]!;
      const q = cvr.state.queries.get(t.hash);
      if (!q || q.deleted || q.gotSeq === null) continue;
      if (r.status === 'rejected') {
        // The query keeps its AST until the next attempt.
        this.#o.lc.warn('Could not prepare a synced query again', {
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
        !this.#o.cells.differs(t.hash, r.value.ast, t.client.context)
      ) {
        continue;
      }
      this.#o.driver.removeQuery(t.hash);
      step.dropQueryRows(t.hash);
      await this.hydrate(step, {hash: t.hash, ast: r.value.ast}, true, t.client.context);
    }
  }
  // --------------------------------------------------------------------------------------

  dropExpired(step: CVRStep): void {
    const cvr = this.#o.cvr();
    for (const q of expiredQueries(cvr, this.#o.now())) {
      this.hydrations.delete(q.hash);
      this.#o.driver.removeQuery(q.hash);
      this.#o.cells.delete(q.hash);
      step.dropQueryRows(q.hash);
      step.lostQuery(q.hash);
    }
  }
}

/** What a prepared AST depends on: the claims, and (opaque tokens) whether there is a token. */
function authKey(client: GroupClient): string {
  return stableStringify([client.context.authData, client.context.token !== undefined]);
}
