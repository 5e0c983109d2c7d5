// The SyncServer's `pusher`: splits a push into runs of CRUD and custom mutations (kept in
// the order pushed), applies CRUD runs upstream and forwards custom runs to the API server.
// One queue per client group: a later push (even from a new connection of the same group)
// waits until the earlier one is done, so mutations are applied in order.
import type pg from 'pg';
import {PgCatalog, shardNames} from '@zync/pg';
import {ProtocolError, type Mutation, type PushBody, type PushResponseBody} from '@zync/protocol';
import type {Logger, ReadonlyJSONValue} from '@zync/shared';
import {bindPermissions, type DefinedPermissions} from '@zync/zql';
import type {ZeroConfig} from '../config/parse-config.ts';
import type {Pusher, PushContext} from '../server/hooks.ts';
import {LEGACY_CRUD_REFUSAL} from '../permissions/legacy-api.ts';
import {CrudProcessor} from './crud-processor.ts';
import {CustomForwarder, type RetryPolicy} from './custom-forwarder.ts';
import type {MutationOutcome} from './push-types.ts';
import {allowAllWrites, BoundWriteAuthorizer, type WriteAuthorizer} from './write-authorizer.ts';
import {apiOutcomeOf, noMetrics, type Metrics} from '../metrics/metrics.ts';

export const OPAQUE_TOKEN_CRUD_REFUSAL =
  'CRUD mutations need a JWT key configured on zero-cache (ZERO_AUTH_SECRET, ZERO_AUTH_JWK or ' +
  'ZERO_AUTH_JWKS_URL) so that permissions can see the claims; with opaque tokens use custom mutators';

export type ZeroPusherOptions = {
  /** Upstream Postgres (CRUD mutations and the last-mutation-id table). */
  readonly db: pg.Pool;
  readonly appID: string;
  /** Default `zync_<appID>`. */
  readonly shardSchema?: string | undefined;
  /** Whether tokens are verified JWTs (a ZERO_AUTH_* key is set); false refuses CRUD. */
  readonly jwtAuth: boolean;
  /** False: CRUD mutations are refused (the app turned the legacy API off). Default true. */
  readonly legacyMutators?: boolean | undefined;
  /** The app's permissions; undefined leaves CRUD writes unchecked. */
  readonly permissions?: DefinedPermissions | undefined;
  readonly mutate?:
    | {
        readonly url: string;
        readonly apiKey: string | undefined;
        readonly forwardCookies: boolean;
        readonly timeoutMs?: number | undefined;
        readonly retry?: RetryPolicy | undefined;
      }
    | undefined;
  /**
   * Called after a push with each client's new last mutation id (ids now processed, also
   * those that failed). The `clients` table is not replicated: the view syncer can carry
   * these in `lastMutationIDChanges` of its next poke once the replica has the writes.
   */
  readonly onLastMutationIDs?:
    ((clientGroupID: string, lmids: ReadonlyMap<string, number>) => void) | undefined;
  readonly logger: Logger;
  /** Each push to the API server is counted by outcome and timed. */
  readonly metrics?: Metrics | undefined;
};

/** What a push needs to know about the connection it came from. */
export type PushRequestContext = {
  readonly clientGroupID: string;
  readonly userID: string | undefined;
  /** The verified claims (`{}` when anonymous). */
  readonly authData: Readonly<Record<string, ReadonlyJSONValue>>;
  /** The connection's current token, read at each API server attempt. Never logged. */
  readonly token: () => string | undefined;
  /** The WebSocket upgrade's Cookie header. Never logged. */
  readonly cookie: string | undefined;
  /** False once the connection is gone: API server retries stop. */
  readonly live?: (() => boolean) | undefined;
};

/** The ZeroPusher options that come from configuration. */
export function pusherConfig(
  config: ZeroConfig,
): Pick<ZeroPusherOptions, 'appID' | 'jwtAuth' | 'mutate'> {
  return {
    appID: config.appId,
    jwtAuth:
      config.authSecret !== undefined ||
      config.authJwk !== undefined ||
      config.authJwksUrl !== undefined,
    mutate:
      config.mutateUrl === undefined
        ? undefined
        : {
            url: config.mutateUrl,
            apiKey: config.mutateApiKey,
            forwardCookies: config.mutateForwardCookies,
          },
  };
}

export class ZeroPusher implements Pusher {
  readonly #o: ZeroPusherOptions;
  readonly #crud: CrudProcessor;
  /** Upstream's tables in `public`: the ones clients can write (views are not). */
  readonly #catalog = new PgCatalog({tablesOnly: true});
  readonly #custom: CustomForwarder | undefined;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #authorizers = new WeakMap<object, WriteAuthorizer>();

  constructor(options: ZeroPusherOptions) {
    this.#o = options;
    const shardSchema = options.shardSchema ?? shardNames(options.appID).schema;
    this.#crud = new CrudProcessor({
      db: options.db,
      catalog: this.#catalog,
      shardSchema,
      logger: options.logger,
    });
    this.#custom =
      options.mutate &&
      new CustomForwarder({
        ...options.mutate,
        appID: options.appID,
        shardSchema,
        logger: options.logger,
      });
    if (options.jwtAuth && !options.permissions) {
      options.logger.warn('No permissions loaded: CRUD writes are not checked');
    }
  }

  /** The SyncServer hook. */
  push(body: PushBody, ctx: PushContext): Promise<PushResponseBody> {
    const cookie = ctx.upgrade.headers.cookie;
    return this.process(body, {
      clientGroupID: ctx.clientGroupID,
      userID: ctx.userID,
      authData: ctx.authData,
      token: ctx.currentToken ?? (() => ctx.token),
      cookie,
      ...(ctx.live ? {live: ctx.live} : {}),
    });
  }

  /**
   * Processes one push. Throws ProtocolError: 'InvalidMessage' (out-of-order ids),
   * 'AuthInvalidated' (the API server refused the credentials; nothing is lost), 'PushFailed'
   * (Postgres or the API server failed for good; the mutations stay pending).
   */
  process(body: PushBody, ctx: PushRequestContext): Promise<PushResponseBody> {
    if (body.clientGroupID !== ctx.clientGroupID) {
      return Promise.reject(new ProtocolError('InvalidMessage', 'push names another client group'));
    }
    const prev = this.#queues.get(ctx.clientGroupID) ?? Promise.resolve();
    const run = prev.then(
      () => this.#process(body, ctx),
      () => this.#process(body, ctx),
    );
    this.#queues.set(ctx.clientGroupID, run);
    const cleanup = () => {
      if (this.#queues.get(ctx.clientGroupID) === run) this.#queues.delete(ctx.clientGroupID);
    };
    run.then(cleanup, cleanup);
    return run;
  }

  async #process(body: PushBody, ctx: PushRequestContext): Promise<PushResponseBody> {
    const outcomes: MutationOutcome[] = [];
    for (const run of runsOf(body.mutations)) {
      if (run.type === 'crud') {
        outcomes.push(
          ...(await this.#crud.process(run.mutations, {
            clientGroupID: ctx.clientGroupID,
            authorizer: this.#authorizer(ctx.authData),
            // No key configured: a token is opaque (claims unknown), so CRUD is refused; a
            // connection without any token is anonymous and checked against the rules.
            refusal:
              this.#o.legacyMutators === false
                ? LEGACY_CRUD_REFUSAL
                : this.#o.jwtAuth || ctx.token() === undefined
                  ? undefined
                  : OPAQUE_TOKEN_CRUD_REFUSAL,
          })),
        );
      } else {
        if (!this.#custom) {
          throw new ProtocolError(
            'PushFailed',
            'Custom mutators need ZERO_MUTATE_URL configured on zero-cache',
          );
        }
        const metrics = this.#o.metrics ?? noMetrics;
        const t0 = performance.now();
        const forwarded = await this.#custom
          .forward(run.mutations, {
            clientGroupID: ctx.clientGroupID,
            userID: ctx.userID,
            requestID: body.requestID,
            token: ctx.token,
            cookie: ctx.cookie,
            live: ctx.live,
          })
          .catch((e: unknown) => {
            metrics.apiCall('push', apiOutcomeOf(e), performance.now() - t0);
            throw e;
          });
        metrics.apiCall('push', 'ok', performance.now() - t0);
        outcomes.push(...forwarded);
      }
    }
    const notify = this.#o.onLastMutationIDs;
    if (notify && outcomes.length > 0) {
      const lmids = new Map<string, number>();
      for (const o of outcomes) {
        if (o.result.type === 'alreadyProcessed') continue;
        lmids.set(o.clientID, Math.max(o.id, lmids.get(o.clientID) ?? 0));
      }
      if (lmids.size > 0) notify(ctx.clientGroupID, lmids);
    }
    return {mutations: outcomes};
  }

  #authorizer(authData: Readonly<Record<string, ReadonlyJSONValue>>): WriteAuthorizer {
    const permissions = this.#o.permissions;
    if (!permissions) return allowAllWrites;
    let a = this.#authorizers.get(authData);
    if (!a) {
      const logger = this.#o.logger;
      const bound = bindPermissions(permissions, authData, {
        onRuleError: (table, action) => logger.warn('A permission rule failed', {table, action}),
      });
      a = new BoundWriteAuthorizer(bound, this.#catalog);
      this.#authorizers.set(authData, a);
    }
    return a;
  }
}

type Run = {type: 'crud' | 'custom'; mutations: Mutation[]};

function runsOf(mutations: readonly Mutation[]): Run[] {
  const runs: Run[] = [];
  for (const m of mutations) {
    const last = runs[runs.length - 1];
    if (last && last.type === m.type) last.mutations.push(m);
    else runs.push({type: m.type, mutations: [m]});
  }
  return runs;
}
