// Calls the app's get-queries endpoint (ZERO_GET_QUERIES_URL) in Zero's request shape
// (docs/api-server.md) with the push path's headers and retry rules: network errors,
// timeouts, 429 and 5xx are retried with backoff; 401/403 throw
// ProtocolError('AuthInvalidated') so the client refreshes its token.
import type {ReadonlyJSONValue} from '@zync/shared';
import {DEFAULT_MAX_RESPONSE_BYTES, postToApiServer, sleep} from '../push/api-request.ts';
import type {ApiEndpointOptions, RetryPolicy} from '../push/custom-forwarder.ts';
import {readGetQueriesResponse, transformFailed, type Transformed} from './get-queries-response.ts';

/** Hard deadline of one get-queries attempt to the API server. */
export const DEFAULT_GET_QUERIES_TIMEOUT_MS = 10_000;

/** Queries wait for their transform while the group's queue is held: retry for less long. */
export const DEFAULT_GET_QUERIES_RETRY: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  maxElapsedMs: 30_000,
};

export type GetQueriesClientOptions = ApiEndpointOptions;

export type TransformItem = {
  readonly id: string;
  readonly name: string;
  readonly args: readonly ReadonlyJSONValue[];
};

export type TransformCredentials = {
  /** The connection's userID: a 1.x answer naming another user is refused. */
  readonly userID: string;
  readonly token: string | undefined;
  readonly cookie: string | undefined;
};

export class GetQueriesClient {
  readonly #o: GetQueriesClientOptions;
  readonly #url: string;

  constructor(options: GetQueriesClientOptions) {
    this.#o = options;
    const u = new URL(options.url);
    u.searchParams.set('schema', options.shardSchema);
    u.searchParams.set('appID', options.appID);
    this.#url = u.toString();
  }

  /** Transforms one batch; every item's id gets a result. */
  async transform(
    items: readonly TransformItem[],
    creds: TransformCredentials,
  ): Promise<Map<string, Transformed>> {
    const body = JSON.stringify(['transform', items]);
    const ids = items.map(i => i.id);
    const retry = this.#o.retry ?? DEFAULT_GET_QUERIES_RETRY;
    const started = Date.now();
    let delay = retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      const res = await postToApiServer(
        this.#url,
        body,
        {
          apiKey: this.#o.apiKey,
          forwardCookies: this.#o.forwardCookies,
          token: creds.token,
          cookie: creds.cookie,
        },
        {
          timeoutMs: this.#o.timeoutMs ?? DEFAULT_GET_QUERIES_TIMEOUT_MS,
          maxBytes: this.#o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        },
        status =>
          `The API server refused the credentials for synced queries (HTTP ${status}); refresh the token`,
      );
      if (res.kind === 'done') {
        if (res.status < 200 || res.status >= 300) {
          this.#o.logger.warn('API server refused get-queries', {status: res.status});
          const failed = transformFailed(
            `The API server refused the get-queries request (HTTP ${res.status})`,
          );
          return new Map(ids.map(id => [id, failed]));
        }
        const read = readGetQueriesResponse(res.json, ids, creds.userID);
        if (read.mismatch) {
          // The IDs are left out: the log says what happened, not whom it concerned.
          this.#o.logger.warn('API server answered get-queries for another user; refused');
        }
        return read.results;
      }
      if (Date.now() - started + delay > retry.maxElapsedMs) {
        this.#o.logger.warn('API server get-queries failed; giving up', {
          attempt,
          reason: res.reason,
        });
        const failed = transformFailed('The API server could not be reached to transform queries');
        return new Map(ids.map(id => [id, failed]));
      }
      this.#o.logger.info('API server get-queries failed; retrying', {
        attempt,
        reason: res.reason,
        delayMs: delay,
      });
      await sleep(delay);
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
  }
}
