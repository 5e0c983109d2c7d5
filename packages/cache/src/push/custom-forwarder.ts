// Custom mutations go to the app's API server (ZERO_MUTATE_URL) in Zero's push request
// shape; the API server runs them and bumps the last mutation ids itself. Network errors,
// timeouts, 429 and 5xx are retried with exponential backoff: the caller holds the
// client group's queue meanwhile, so later pushes wait and order is kept. 401/403 means the
// credentials were refused: nothing was processed, the client must refresh its token
// (ProtocolError 'AuthInvalidated') and its mutations stay pending. A request the API server
// refuses as such (other 4xx, or an `{error}` body) fails each mutation with a zero error.
import {ProtocolError, type Mutation} from '@zync/protocol';
import type {Logger, ReadonlyJSONValue} from '@zync/shared';
import * as v from 'valibot';
import {DEFAULT_MAX_RESPONSE_BYTES, postToApiServer, sleep} from './api-request.ts';
import {answersForUser} from '../queries/get-queries-response.ts';
import type {MutationOutcome} from './push-types.ts';

export type RetryPolicy = {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up (ProtocolError 'PushFailed') once retrying has taken this long. */
  readonly maxElapsedMs: number;
};

/** Hard deadline of one push attempt to the API server. */
export const DEFAULT_PUSH_TIMEOUT_MS = 30_000;

export const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  maxElapsedMs: 120_000,
};

/** How to reach one of the app's API endpoints (push or get-queries). */
export type ApiEndpointOptions = {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly forwardCookies: boolean;
  readonly appID: string;
  /** The app's internal upstream schema (the `schema` query parameter, as Zero sends). */
  readonly shardSchema: string;
  /** Hard deadline of one attempt, the response body included. */
  readonly timeoutMs?: number | undefined;
  /** Largest response body read (default DEFAULT_MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes?: number | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly logger: Logger;
};

export type CustomForwarderOptions = ApiEndpointOptions;

export type ForwardContext = {
  readonly clientGroupID: string;
  /** The connection's userID: a 1.x answer naming another user is refused. */
  readonly userID: string | undefined;
  readonly requestID: string;
  /** The connection's token at the time of each attempt (it may be refreshed meanwhile). */
  readonly token: () => string | undefined;
  /** The WebSocket upgrade's Cookie header. */
  readonly cookie: string | undefined;
  /** Stops retrying when it says false (e.g. the connection closed). */
  readonly live?: (() => boolean) | undefined;
};

const mutationIDSchema = v.object({id: v.number(), clientID: v.string()});
const resultSchema = v.union([
  v.object({
    error: v.literal('app'),
    message: v.optional(v.string()),
    details: v.optional(v.unknown()),
  }),
  v.object({
    error: v.picklist(['oooMutation', 'alreadyProcessed']),
    details: v.optional(v.unknown()),
  }),
  v.object({error: v.optional(v.undefined()), data: v.optional(v.unknown())}),
]);
// 0.24's `{mutations}` / `{error}` and 1.x's `{kind: 'MutateResponse', userID, mutations}` /
// `{kind: 'PushFailed', reason}`.
const responseSchema = v.union([
  v.object({
    kind: v.optional(v.literal('MutateResponse')),
    userID: v.optional(v.nullable(v.string())),
    mutations: v.array(v.object({id: mutationIDSchema, result: resultSchema})),
  }),
  v.object({kind: v.literal('PushFailed'), reason: v.string()}),
  v.object({error: v.string(), status: v.optional(v.number()), details: v.optional(v.unknown())}),
]);

export class CustomForwarder {
  readonly #o: CustomForwarderOptions;
  readonly #url: string;

  constructor(options: CustomForwarderOptions) {
    this.#o = options;
    const u = new URL(options.url);
    u.searchParams.set('schema', options.shardSchema);
    u.searchParams.set('appID', options.appID);
    this.#url = u.toString();
  }

  async forward(mutations: readonly Mutation[], ctx: ForwardContext): Promise<MutationOutcome[]> {
    const body = JSON.stringify({
      clientGroupID: ctx.clientGroupID,
      mutations: mutations.map(m => ({
        type: 'custom',
        id: m.id,
        clientID: m.clientID,
        name: m.name,
        args: m.args,
        timestamp: m.timestamp,
      })),
      pushVersion: 1,
      timestamp: Date.now(),
      requestID: ctx.requestID,
    });
    const retry = this.#o.retry ?? DEFAULT_RETRY;
    const started = Date.now();
    let delay = retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(body, ctx);
      if (outcome.kind === 'done') return this.#outcomes(outcome.json, mutations, ctx);
      const elapsed = Date.now() - started;
      if (elapsed + delay > retry.maxElapsedMs || (ctx.live && !ctx.live())) {
        this.#o.logger.warn('API server push failed; giving up', {attempt, reason: outcome.reason});
        throw new ProtocolError(
          'PushFailed',
          'The API server could not process the mutations; they stay pending and will be sent again',
        );
      }
      this.#o.logger.info('API server push failed; retrying', {
        attempt,
        reason: outcome.reason,
        delayMs: delay,
      });
      await sleep(delay);
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
  }

  #outcomes(json: unknown, sent: readonly Mutation[], ctx: ForwardContext): MutationOutcome[] {
    try {
      return toOutcomes(json, sent, ctx.userID);
    } catch (e) {
      if (e instanceof ProtocolError && e.kind === 'Unauthorized') {
        // The IDs are left out: the log says what happened, not whom it concerned.
        this.#o.logger.warn('API server answered a push for another user; refused');
      }
      throw e;
    }
  }

  async #attempt(
    body: string,
    ctx: ForwardContext,
  ): Promise<{kind: 'done'; json: unknown} | {kind: 'retry'; reason: string}> {
    const res = await postToApiServer(
      this.#url,
      body,
      {
        apiKey: this.#o.apiKey,
        forwardCookies: this.#o.forwardCookies,
        token: ctx.token(),
        cookie: ctx.cookie,
      },
      {
        timeoutMs: this.#o.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
        maxBytes: this.#o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      },
      status =>
        `The API server refused the credentials (HTTP ${status}); refresh the token and resend`,
    );
    if (res.kind === 'retry') return res;
    if (res.status < 200 || res.status >= 300) {
      // A request-level refusal (docs/api-server.md): resending it as-is cannot succeed.
      const error = (res.json as {error?: unknown} | undefined)?.error;
      return {
        kind: 'done',
        json: {error: typeof error === 'string' ? error : 'http', status: res.status},
      };
    }
    return {kind: 'done', json: res.json};
  }
}

function toOutcomes(
  json: unknown,
  sent: readonly Mutation[],
  userID: string | undefined,
): MutationOutcome[] {
  const parsed = v.safeParse(responseSchema, json);
  if (!parsed.success) {
    throw new ProtocolError('PushFailed', 'The API server answered the push in an unknown shape');
  }
  const body = parsed.output;
  if ('reason' in body) {
    if (body.reason === 'oooMutation') {
      throw new ProtocolError(
        'InvalidMessage',
        'A mutation is out of order (the API server expected an earlier one)',
      );
    }
    if (body.reason === 'database' || body.reason === 'internal') {
      // Nothing after the failure was recorded: the mutations stay pending and are resent;
      // those the API server did record come back as already processed.
      throw new ProtocolError(
        'PushFailed',
        'The API server could not process the mutations; they stay pending and will be sent again',
      );
    }
  }
  if ('reason' in body || 'error' in body) {
    const code0 = 'error' in body ? body.error : body.reason;
    // The API server refused the whole request (e.g. `http` 400, `unsupportedPushVersion`):
    // each mutation sent fails with a zero error rather than being resent forever. Only the
    // error code is passed on, never the server's text.
    const code = /^[A-Za-z0-9_]{1,40}$/.test(code0) ? code0 : 'unknown';
    const status = 'status' in body && typeof body.status === 'number' ? ` ${body.status}` : '';
    return sent.map(m => ({
      clientID: m.clientID,
      id: m.id,
      result: {
        type: 'error',
        error: 'zero',
        message: `The API server refused the push request (${code}${status})`,
      },
    }));
  }
  if (!answersForUser(body.userID, userID ?? '')) {
    throw new ProtocolError(
      'Unauthorized',
      "The API server answered the push for another user than the connection's userID",
    );
  }
  const outcomes: MutationOutcome[] = [];
  const sentIDs = new Set(sent.map(m => `${m.clientID}\u0000${m.id}`));
  for (const {id, result} of body.mutations) {
    if (!sentIDs.has(`${id.clientID}\u0000${id.id}`)) continue;
    if (result.error === 'oooMutation') {
      throw new ProtocolError(
        'InvalidMessage',
        `Mutation ${id.id} of client ${id.clientID} is out of order (the API server expected an earlier one)`,
      );
    }
    if (result.error === 'alreadyProcessed') {
      outcomes.push({clientID: id.clientID, id: id.id, result: {type: 'alreadyProcessed'}});
      continue;
    }
    if (result.error === 'app') {
      const details = result.details as ReadonlyJSONValue | undefined;
      const message =
        result.message ??
        (typeof details === 'string' ? details : 'The mutator failed on the API server');
      outcomes.push({
        clientID: id.clientID,
        id: id.id,
        result:
          details === undefined
            ? {type: 'error', error: 'app', message}
            : {type: 'error', error: 'app', message, details},
      });
      continue;
    }
    outcomes.push({clientID: id.clientID, id: id.id, result: {type: 'ok'}});
  }
  return outcomes;
}
