// zero-cache's one client for the app's API server, used by custom mutation pushes
// (push/custom-forwarder.ts) and synced-query transforms (queries/get-queries-client.ts):
// the URL with Zero's query parameters, the headers forwarded, each attempt bounded
// (http-post.ts), and the retry loop of retry-policy.ts. What an answer means is the
// caller's business; this says only whether one came.
import {ProtocolError} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import {postBounded, PostFailure, type PostResponse} from './http-post.ts';
import {
  Backoff,
  checkRetryPolicy,
  failureVerdict,
  retryAfterMs,
  statusVerdict,
  type RetryPolicy,
} from './retry-policy.ts';

/** Largest API server answer read by default (a get-queries answer holds every query's AST). */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** How to reach one of the app's API endpoints (push or get-queries). */
export type ApiEndpointOptions = {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly forwardCookies: boolean;
  readonly appID: string;
  /** The app's internal upstream schema (the `schema` query parameter, as Zero sends). */
  readonly shardSchema: string;
  /** Hard deadline of one attempt, redirects and the response body included. */
  readonly timeoutMs?: number | undefined;
  /** Largest response body read (default DEFAULT_MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes?: number | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly logger: Logger;
  /** Waits between attempts (tests record them). */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
};

/** What the endpoint is, for logs and errors. */
export type ApiEndpointKind = {
  /** In log lines: `API server <name> failed; retrying`. */
  readonly name: string;
  readonly defaultTimeoutMs: number;
  readonly defaultRetry: RetryPolicy;
  /** The AuthInvalidated message for a 401/403. */
  readonly refusal: (status: number) => string;
};

/** Read at each attempt: a token may be refreshed while a call is retried. Never logged. */
export type ApiCredentials = {
  readonly token: string | undefined;
  /** The WebSocket upgrade's Cookie header; sent only with `forwardCookies`. */
  readonly cookie: string | undefined;
};

export type ApiCall = {
  readonly body: string;
  readonly credentials: () => ApiCredentials;
  /**
   * Whether the app cannot apply this request twice (it only reads, or it is deduplicated
   * as pushes are by mutation ids). When false, a failure after the request may have been
   * sent is not retried.
   */
  readonly repeatable: boolean;
  /** Stops retrying when it says false (e.g. the connection closed). */
  readonly live?: (() => boolean) | undefined;
};

export type ApiResult =
  /** The API server answered: `json` is the parsed body (undefined when unreadable). */
  | {readonly kind: 'answer'; readonly status: number; readonly json: unknown}
  /** No usable answer, and no more attempts. */
  | {readonly kind: 'failed'; readonly reason: string; readonly attempts: number};

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

export class ApiClient {
  readonly #o: ApiEndpointOptions;
  readonly #kind: ApiEndpointKind;
  readonly #url: URL;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: ApiEndpointOptions, kind: ApiEndpointKind) {
    this.#o = options;
    this.#kind = kind;
    const u = new URL(options.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      // The URL itself is not repeated: it may carry credentials.
      throw new TypeError(
        `The API server URL for ${kind.name} must be http(s) (got ${u.protocol})`,
      );
    }
    u.searchParams.set('schema', options.shardSchema);
    u.searchParams.set('appID', options.appID);
    this.#url = u;
    this.#retry = checkRetryPolicy(options.retry ?? kind.defaultRetry);
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? kind.defaultTimeoutMs);
    this.#maxBytes = positive(
      'maxResponseBytes',
      options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    );
    this.#sleep = options.sleep ?? sleep;
  }

  /**
   * POSTs `call.body` until an answer comes or the retry policy gives up. A 401/403
   * throws ProtocolError('AuthInvalidated'): nothing was processed, the credentials must
   * change first.
   */
  async post(call: ApiCall): Promise<ApiResult> {
    const log = this.#o.logger;
    const backoff = new Backoff(this.#retry, Date.now());
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(call);
      if (outcome.kind === 'answer') return outcome;
      const wait =
        outcome.kind === 'retry' && (!call.live || call.live())
          ? backoff.next(attempt, Date.now(), outcome.retryAfterMs)
          : undefined;
      if (wait === undefined) {
        log.warn(`API server ${this.#kind.name} failed; giving up`, {
          attempt,
          reason: outcome.reason,
        });
        return {kind: 'failed', reason: outcome.reason, attempts: attempt};
      }
      log.info(`API server ${this.#kind.name} failed; retrying`, {
        attempt,
        reason: outcome.reason,
        delayMs: wait,
      });
      await this.#sleep(wait);
    }
  }

  async #attempt(
    call: ApiCall,
  ): Promise<
    | {kind: 'answer'; status: number; json: unknown}
    | {kind: 'retry' | 'give-up'; reason: string; retryAfterMs?: number | undefined}
  > {
    let res: PostResponse;
    try {
      res = await postBounded(this.#url, call.body, this.#headers(call.credentials()), {
        timeoutMs: this.#timeoutMs,
        maxBytes: this.#maxBytes,
      });
    } catch (e) {
      if (!(e instanceof PostFailure)) throw e;
      return {kind: failureVerdict(e.failure, call.repeatable), reason: e.failure.reason};
    }
    const json = parse(res.text);
    const verdict = statusVerdict(res.status, json !== undefined, call.repeatable);
    switch (verdict) {
      case 'refused':
        throw new ProtocolError('AuthInvalidated', this.#kind.refusal(res.status));
      case 'answer':
        return {kind: 'answer', status: res.status, json};
      default:
        return {
          kind: verdict,
          reason:
            res.status >= 200 && res.status < 300 ? 'unreadable response' : `HTTP ${res.status}`,
          retryAfterMs:
            res.status === 429 || res.status === 503
              ? retryAfterMs(res.retryAfter, Date.now())
              : undefined,
        };
    }
  }

  #headers(c: ApiCredentials): Record<string, string> {
    const headers: Record<string, string> = {'content-type': 'application/json'};
    if (this.#o.apiKey !== undefined) headers['x-api-key'] = this.#o.apiKey;
    if (c.token) headers['authorization'] = `Bearer ${c.token}`;
    if (this.#o.forwardCookies && c.cookie) headers['cookie'] = c.cookie;
    return headers;
  }
}

function positive(name: string, n: number): number {
  if (!Number.isFinite(n) || n <= 0) {
    throw new TypeError(`The API server client's ${name} must be a positive number (got ${n})`);
  }
  return n;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
