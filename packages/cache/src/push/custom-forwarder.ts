// Custom mutations go to the app's API server (ZERO_MUTATE_URL) in Zero's push request
// shape; the API server runs them and bumps the last mutation ids itself. The call goes
// through the API server client (api-client/), whose retry policy covers network errors,
// timeouts, 429 and 5xx: the caller holds the client group's queue meanwhile, so later
// pushes wait and order is kept. A push is repeatable: each mutation carries its id, which
// the API server checks in the mutation's own transaction, so a resent mutation it already
// applied is answered `alreadyProcessed`, never applied twice. 401/403 means the
// credentials were refused: nothing was processed, the client must refresh its token
// (ProtocolError 'AuthInvalidated') and its mutations stay pending. A request the API server
// refuses as such (other 4xx, or an `{error}` body) fails each mutation with a zero error.
import {ProtocolError, type Mutation} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import * as v from 'valibot';
import {ApiClient, type ApiEndpointOptions} from '../api-client/api-client.ts';
import {DEFAULT_PUSH_RETRY, type RetryPolicy} from '../api-client/retry-policy.ts';
import {answersForUser} from '../queries/get-queries-response.ts';
import type {MutationOutcome} from './push-types.ts';

export type {ApiEndpointOptions, RetryPolicy};

/** Hard deadline of one push attempt to the API server. */
export const DEFAULT_PUSH_TIMEOUT_MS = 30_000;

/** The push retry policy's defaults (api-client/retry-policy.ts). */
export const DEFAULT_RETRY: RetryPolicy = DEFAULT_PUSH_RETRY;

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
  readonly #api: ApiClient;

  constructor(options: CustomForwarderOptions) {
    this.#o = options;
    this.#api = new ApiClient(options, {
      name: 'push',
      defaultTimeoutMs: DEFAULT_PUSH_TIMEOUT_MS,
      defaultRetry: DEFAULT_RETRY,
      refusal: status =>
        `The API server refused the credentials (HTTP ${status}); refresh the token and resend`,
    });
  }

  async forward(mutations: readonly Mutation[], ctx: ForwardContext): Promise<MutationOutcome[]> {
    // Built once: every attempt resends the same mutation ids.
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
    const res = await this.#api.post({
      body,
      credentials: () => ({token: ctx.token(), cookie: ctx.cookie}),
      repeatable: true,
      live: ctx.live,
    });
    if (res.kind === 'failed') {
      throw new ProtocolError(
        'PushFailed',
        'The API server could not process the mutations; they stay pending and will be sent again',
      );
    }
    let json = res.json;
    if (res.status < 200 || res.status >= 300) {
      // A request-level refusal (docs/api-server.md): resending it as-is cannot succeed.
      const error = (json as {error?: unknown} | undefined)?.error;
      json = {error: typeof error === 'string' ? error : 'http', status: res.status};
    }
    return this.#outcomes(json, mutations, ctx);
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
