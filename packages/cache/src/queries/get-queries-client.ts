// Calls the app's get-queries endpoint (ZERO_GET_QUERIES_URL) in Zero's request shape
// (docs/api-server.md) through the API server client (api-client/), which pushes use too:
// same headers, deadlines and retry policy. A transform only reads, so any failure the
// policy retries is retried; 401/403 throw ProtocolError('AuthInvalidated') so the client
// refreshes its token.
import type {ReadonlyJSONValue} from '@zync/shared';
import {ApiClient, type ApiEndpointOptions} from '../api-client/api-client.ts';
import {DEFAULT_GET_QUERIES_RETRY} from '../api-client/retry-policy.ts';
import {readGetQueriesResponse, transformFailed, type Transformed} from './get-queries-response.ts';

export {DEFAULT_GET_QUERIES_RETRY};

/** Hard deadline of one get-queries attempt to the API server. */
export const DEFAULT_GET_QUERIES_TIMEOUT_MS = 10_000;

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
  readonly #api: ApiClient;

  constructor(options: GetQueriesClientOptions) {
    this.#o = options;
    this.#api = new ApiClient(options, {
      name: 'get-queries',
      defaultTimeoutMs: DEFAULT_GET_QUERIES_TIMEOUT_MS,
      defaultRetry: DEFAULT_GET_QUERIES_RETRY,
      refusal: status =>
        `The API server refused the credentials for synced queries (HTTP ${status}); refresh the token`,
    });
  }

  /** Transforms one batch; every item's id gets a result. */
  async transform(
    items: readonly TransformItem[],
    creds: TransformCredentials,
  ): Promise<Map<string, Transformed>> {
    const ids = items.map(i => i.id);
    const res = await this.#api.post({
      body: JSON.stringify(['transform', items]),
      credentials: () => creds,
      repeatable: true,
    });
    if (res.kind === 'failed') {
      const failed = transformFailed('The API server could not be reached to transform queries');
      return new Map(ids.map(id => [id, failed]));
    }
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
}
