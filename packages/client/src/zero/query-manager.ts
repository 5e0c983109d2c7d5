// Which queries this client wants from the server, and the live views over local data.
// Each distinct query (by hash) is sent once, however many views use it.
import type {AST, QueryError, QueryPatchOp} from '@zync/protocol';
import type {
  AnyQueryLike,
  Listener,
  PreloadOptions,
  QueryDelegate,
  QueryErrorDetails,
  ResultType,
  RunOptions,
  Schema,
  TTL,
  TypedView,
  ViewFactory,
} from '@zync/zql';
import {customQueryHash, mapAST} from '@zync/zql';
import type {ArrayView, ViewData} from '@zync/zql/ivm';
import {materialize} from '@zync/zql/ivm';
import type {LocalState} from './local-state.ts';
import {ttlToMs} from './ttl.ts';

export type Desired = {
  readonly hash: string;
  readonly put: Extract<QueryPatchOp, {op: 'put'}>;
  /** The query first asked for (its AST is computed only when someone reads it). */
  readonly query: AnyQueryLike;
  refs: number;
  error: QueryErrorDetails | undefined;
  readonly onChange: Set<() => void>;
};

export class QueryManager implements QueryDelegate {
  readonly #schema: Schema;
  readonly #local: LocalState;
  readonly #send: (patch: QueryPatchOp[]) => void;
  readonly #desired = new Map<string, Desired>();
  #loaded: Promise<void> = Promise.resolve();
  /** Told of each query no longer wanted (set by the inspector, once it exists). */
  onRelease: ((d: Desired) => void) | undefined;

  constructor(schema: Schema, local: LocalState, send: (patch: QueryPatchOp[]) => void) {
    this.#schema = schema;
    this.#local = local;
    this.#send = send;
  }

  /** `run` answers once the local store is loaded, not from the empty memory before it. */
  waitForLoad(loaded: Promise<void>): void {
    this.#loaded = loaded.catch(() => {});
  }

  /** The desired queries, as they are now (for the inspector). */
  desired(): readonly Desired[] {
    return [...this.#desired.values()];
  }

  /** Every desired query, for the `connect` frame after a reconnect. */
  desiredPatch(): Extract<QueryPatchOp, {op: 'put'}>[] {
    return [...this.#desired.values()].map(d => d.put);
  }

  resultType(hash: string): ResultType {
    const d = this.#desired.get(hash);
    if (d?.error) return 'error';
    return this.#local.gotQueries.has(hash) ? 'complete' : 'unknown';
  }

  /** Called after a poke: notifies views whose query completed or failed. */
  afterPoke(errors: readonly QueryError[] | undefined, touched: ReadonlySet<string>): void {
    for (const e of errors ?? []) {
      const d = this.#desired.get(e.hash);
      if (d) {
        d.error = {
          error: e.kind === 'internal' || e.kind === 'transform-failed' ? 'zero' : 'app',
          message: e.message,
          ...(e.details === undefined ? {} : {details: e.details}),
        };
        touched = new Set([...touched, e.hash]);
      }
    }
    const failed = new Set(errors?.map(e => e.hash));
    for (const hash of touched) {
      const d = this.#desired.get(hash);
      if (!d) continue;
      // Asked again (a reconnect sends every query) and answered: the old error is over.
      if (!failed.has(hash) && this.#local.gotQueries.has(hash)) d.error = undefined;
      for (const fn of [...d.onChange]) fn();
    }
  }

  /**
   * Asks the server again for a query that failed (`retry()` on an error result): the
   * error is forgotten (views see 'unknown') and the query is sent again, which makes
   * zero-cache prepare it again (a synced query is transformed again).
   */
  retry(hash: string): void {
    const d = this.#desired.get(hash);
    if (!d?.error) return;
    d.error = undefined;
    for (const fn of [...d.onChange]) fn();
    this.#send([d.put]);
  }

  #hashOf(query: AnyQueryLike): string {
    return query.customQueryID ? customQueryHash(query.customQueryID) : query.hash();
  }

  #retain(query: AnyQueryLike, ttl: TTL | undefined): Desired {
    const hash = this.#hashOf(query);
    let d = this.#desired.get(hash);
    if (!d) {
      const ttlMs = ttlToMs(ttl);
      const put: Extract<QueryPatchOp, {op: 'put'}> = query.customQueryID
        ? {
            op: 'put',
            hash,
            name: query.customQueryID.name,
            args: [...query.customQueryID.args],
            ttlMs,
          }
        : {op: 'put', hash, ast: toServerAST(query.ast, this.#schema), ttlMs};
      d = {hash, put, query, refs: 0, error: undefined, onChange: new Set()};
      this.#desired.set(hash, d);
      this.#send([put]);
    }
    d.refs++;
    return d;
  }

  #release(d: Desired): void {
    if (--d.refs > 0) return;
    this.#desired.delete(d.hash);
    this.#send([{op: 'del', hash: d.hash}]);
    this.onRelease?.(d);
  }

  #view(query: AnyQueryLike): ArrayView {
    return materialize(
      query.ast,
      {getSource: t => this.#local.sources.get(t)},
      {batcher: this.#local.batcher},
    );
  }

  materialize(
    query: AnyQueryLike,
    factory: ViewFactory<unknown> | undefined,
    ttl: TTL | undefined,
  ): unknown {
    const d = this.#retain(query, ttl);
    const view = this.#view(query);
    const typed = new QueryView(
      view,
      d,
      () => this.resultType(d.hash),
      () => this.#release(d),
      () => this.retry(d.hash),
    );
    if (factory) {
      return (factory as unknown as (v: TypedView<unknown>) => unknown)(typed);
    }
    return typed;
  }

  run(query: AnyQueryLike, options: RunOptions | undefined): Promise<unknown> {
    if (options?.type !== 'complete') {
      return this.#loaded.then(() => {
        const view = this.#view(query);
        const data = view.data;
        view.destroy();
        return data;
      });
    }
    const typed = this.materialize(query, undefined, options.ttl) as QueryView;
    return new Promise((resolve, reject) => {
      // The listener may run inside addListener (a result already complete, or an error
      // already known), before addListener has returned; destroy() removes it either way.
      let settled = false;
      const check = (data: unknown, rt: ResultType, err?: QueryErrorDetails) => {
        if (settled || (rt !== 'complete' && rt !== 'error')) return;
        settled = true;
        typed.destroy();
        if (rt === 'complete') resolve(data);
        else reject(new Error(err?.message ?? 'Query failed'));
      };
      typed.addListener(check);
    });
  }

  preload(
    query: AnyQueryLike,
    options: PreloadOptions | undefined,
  ): {cleanup: () => void; complete: Promise<void>} {
    const d = this.#retain(query, options?.ttl);
    let done = false;
    const complete = new Promise<void>(resolve => {
      const check = () => {
        if (this.resultType(d.hash) !== 'unknown') {
          d.onChange.delete(check);
          resolve();
        }
      };
      d.onChange.add(check);
      check();
    });
    return {
      cleanup: () => {
        if (!done) {
          done = true;
          this.#release(d);
        }
      },
      complete,
    };
  }
}

function toServerAST(ast: AST, schema: Schema): AST {
  return mapAST(ast, schema, 'server');
}

/** The view an app gets: data, listeners with the result type, destroy. */
export class QueryView implements TypedView<unknown> {
  readonly #view: ArrayView;
  readonly #desired: Desired;
  readonly #resultType: () => ResultType;
  readonly #release: () => void;
  readonly #retry: () => void;
  readonly #listeners = new Set<Listener<unknown>>();
  readonly #unsubView: () => void;
  readonly #onChange = () => this.#notify(this.#view.data);
  #destroyed = false;
  #lastType: ResultType;

  constructor(
    view: ArrayView,
    desired: Desired,
    resultType: () => ResultType,
    release: () => void,
    retry: () => void,
  ) {
    this.#view = view;
    this.#desired = desired;
    this.#resultType = resultType;
    this.#release = release;
    this.#retry = retry;
    this.#lastType = resultType();
    this.#unsubView = view.addListener(data => this.#notify(data));
    desired.onChange.add(this.#onChange);
  }

  get data(): ViewData {
    return this.#view.data;
  }

  get resultType(): ResultType {
    return this.#resultType();
  }

  get error(): QueryErrorDetails | undefined {
    return this.#desired.error;
  }

  #notify(data: ViewData): void {
    const rt = this.#resultType();
    this.#lastType = rt;
    for (const fn of [...this.#listeners]) fn(data, rt, this.#desired.error);
  }

  addListener(listener: Listener<unknown>): () => void {
    this.#listeners.add(listener);
    listener(this.#view.data, this.#lastType, this.#desired.error);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Asks the server again for the query if it failed (see QueryManager.retry). */
  retry(): void {
    if (!this.#destroyed) this.#retry();
  }

  updateTTL(_ttl: TTL): void {
    // The TTL is sent with the query when it is first wanted.
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#listeners.clear();
    this.#desired.onChange.delete(this.#onChange);
    this.#unsubView();
    this.#view.destroy();
    this.#release();
  }
}
