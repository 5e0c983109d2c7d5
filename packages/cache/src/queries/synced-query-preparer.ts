// The QueryPreparer for synced queries: a request carrying `name` + `args` is resolved to
// an AST by the app's API server; a request carrying an AST passes through unchanged.
// Requests that arrive together (all queries of one connect or changeDesiredQueries,
// which the client group prepares at once) go in one get-queries call per connection's
// credentials. Results are cached per (userID, token, cookie, name, args) for the
// revalidation interval; a context marked `revalidate` skips the cache.
import {shardNames} from '@zync/pg';
import {ProtocolError} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import type {ZeroConfig} from '../config/parse-config.ts';
import type {RetryPolicy} from '../api-client/retry-policy.ts';
import type {
  PreparedQuery,
  QueryContext,
  QueryPreparer,
  RequestedQuery,
} from '../view-syncer/group-client.ts';
import {GetQueriesClient, type TransformItem} from './get-queries-client.ts';
import {transformFailed, type Transformed} from './get-queries-response.ts';
import {credentialID, TransformCache, transformKey} from './transform-cache.ts';
import {apiOutcomeOf, noMetrics, type ApiOutcome, type Metrics} from '../metrics/metrics.ts';

export type SyncedQueryPreparerOptions = {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly forwardCookies: boolean;
  readonly appID: string;
  /** The `schema` query parameter (Zero sends `<appID>_<shard>`). Default `zync_<appID>`. */
  readonly shardSchema?: string | undefined;
  /** How long a transformation is reused (ZERO_GET_QUERIES_REVALIDATE_SECONDS). */
  readonly revalidateMs: number;
  readonly maxCacheEntries?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly logger: Logger;
  readonly now?: (() => number) | undefined;
  /** Each get-queries call is counted by outcome and timed. */
  readonly metrics?: Metrics | undefined;
};

/** The synced-query options that come from configuration; undefined without a URL. */
export function syncedQueryConfig(
  config: ZeroConfig,
): Omit<SyncedQueryPreparerOptions, 'logger'> | undefined {
  if (config.getQueriesUrl === undefined) return undefined;
  return {
    url: config.getQueriesUrl,
    apiKey: config.getQueriesApiKey,
    forwardCookies: config.getQueriesForwardCookies,
    appID: config.appId,
    revalidateMs: config.getQueriesRevalidateSeconds * 1000,
  };
}

type Waiter = {
  readonly item: TransformItem;
  readonly key: string;
  readonly revalidate: boolean;
  readonly resolve: (t: Transformed) => void;
  readonly reject: (e: unknown) => void;
};

type Batch = {
  readonly userID: string;
  readonly token: string | undefined;
  readonly cookie: string | undefined;
  readonly waiters: Waiter[];
};

export class SyncedQueryPreparer {
  readonly #o: SyncedQueryPreparerOptions;
  readonly #client: GetQueriesClient;
  readonly #cache: TransformCache;
  readonly #inFlight = new Map<string, Promise<Transformed>>();
  #batches = new Map<string, Batch>();
  #flushQueued = false;
  /** get-queries calls made (for tests and benchmarks). */
  requests = 0;

  constructor(options: SyncedQueryPreparerOptions) {
    this.#o = options;
    this.#client = new GetQueriesClient({
      url: options.url,
      apiKey: options.apiKey,
      forwardCookies: options.forwardCookies,
      appID: options.appID,
      shardSchema: options.shardSchema ?? shardNames(options.appID).schema,
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      logger: options.logger.with({component: 'get-queries'}),
    });
    this.#cache = new TransformCache(
      options.revalidateMs,
      options.maxCacheEntries ?? 10_000,
      options.now,
    );
  }

  /** The preparer; `next` (e.g. permissions) gets every AST, resolved or passed through. */
  preparer(next?: QueryPreparer): QueryPreparer {
    return async (query, ctx) => {
      const first = await this.prepare(query, ctx);
      if (!first.ok || !next) return first;
      return next({hash: query.hash, ast: first.ast}, ctx);
    };
  }

  async prepare(query: RequestedQuery, ctx: QueryContext): Promise<PreparedQuery> {
    if (query.name === undefined) {
      if (query.ast) return {ok: true, ast: query.ast};
      return {
        ok: false,
        error: {hash: query.hash, kind: 'unknown-query', message: 'The query has no AST or name'},
      };
    }
    let t: Transformed;
    try {
      t = await this.#transform(query.hash, query.name, query.args ?? [], ctx);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // 401/403: the client must refresh its token; the query is asked for again after.
      ctx.refuseAuth?.(e.message);
      const message = 'The API server refused the credentials';
      return {ok: false, error: {hash: query.hash, kind: 'refused', message}};
    }
    return t.ok ? t : {ok: false, error: {hash: query.hash, ...t.error}};
  }

  #transform(
    id: string,
    name: string,
    args: TransformItem['args'],
    ctx: QueryContext,
  ): Promise<Transformed> {
    const cookie = this.#o.forwardCookies ? ctx.cookie : undefined;
    const creds = `${credentialID(ctx.token)}.${credentialID(cookie)}`;
    const key = transformKey(ctx.userID, creds, name, args);
    const revalidate = ctx.revalidate === true;
    if (!revalidate) {
      const cached = this.#cache.get(key);
      if (cached) return Promise.resolve(cached);
      const pending = this.#inFlight.get(key);
      if (pending) return pending;
    }
    const promise = new Promise<Transformed>((resolve, reject) => {
      const batchKey = `${ctx.userID}\u0000${creds}`;
      let batch = this.#batches.get(batchKey);
      if (!batch) {
        batch = {userID: ctx.userID, token: ctx.token, cookie, waiters: []};
        this.#batches.set(batchKey, batch);
      }
      batch.waiters.push({item: {id, name, args}, key, revalidate, resolve, reject});
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(() => this.#flush());
      }
    });
    this.#inFlight.set(key, promise);
    const clear = () => {
      if (this.#inFlight.get(key) === promise) this.#inFlight.delete(key);
    };
    promise.then(clear, clear);
    return promise;
  }

  #flush(): void {
    this.#flushQueued = false;
    const batches = [...this.#batches.values()];
    this.#batches = new Map();
    for (const b of batches) void this.#send(b);
  }

  async #send(batch: Batch): Promise<void> {
    // One item per distinct (name, args); the id is the client's query hash.
    const items = new Map<string, TransformItem>();
    for (const w of batch.waiters) if (!items.has(w.key)) items.set(w.key, w.item);
    let results: Map<string, ReturnType<typeof transformFailed>>;
    const metrics = this.#o.metrics ?? noMetrics;
    const t0 = performance.now();
    try {
      this.requests++;
      results = await this.#client.transform([...items.values()], {
        userID: batch.userID,
        token: batch.token,
        cookie: batch.cookie,
      });
      metrics.apiCall('get_queries', transformOutcome(results), performance.now() - t0);
    } catch (e) {
      metrics.apiCall('get_queries', apiOutcomeOf(e), performance.now() - t0);
      for (const w of batch.waiters) w.reject(e);
      if (!(e instanceof ProtocolError)) {
        this.#o.logger.warn('get-queries failed', {
          error: e instanceof Error ? e.name : 'unknown',
        });
      }
      return;
    }
    for (const [key, item] of items) {
      const r = results.get(item.id) ?? transformFailed('The API server did not answer');
      if (r.ok || r.cacheable) this.#cache.set(key, r);
    }
    for (const w of batch.waiters) {
      const item = items.get(w.key);
      w.resolve((item && results.get(item.id)) ?? transformFailed('The API server did not answer'));
    }
  }
}

/**
 * `failed` when no query got an answer of the app (every one is `transform-failed`: the API
 * server could not be reached or refused the request), `app_error` when some did get an
 * error, else `ok`.
 */
function transformOutcome(results: ReadonlyMap<string, Transformed>): ApiOutcome {
  let errors = 0;
  let failed = 0;
  for (const r of results.values()) {
    if (r.ok) continue;
    errors++;
    if (r.error.kind === 'transform-failed') failed++;
  }
  return errors === 0 ? 'ok' : failed === results.size ? 'failed' : 'app_error';
}

/** A QueryPreparer resolving synced queries through the API server, then `next`. */
export function syncedQueryPreparer(
  options: SyncedQueryPreparerOptions,
  next?: QueryPreparer,
): QueryPreparer {
  return new SyncedQueryPreparer(options).preparer(next);
}
