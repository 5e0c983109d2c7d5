// `PushProcessor`: runs the mutations of one push, each in its own transaction, with the
// client's last mutation id checked and bumped in that same transaction.
import {silentLogger, type Logger, type LogLevel, type ReadonlyJSONValue} from '@zync/shared';
import {errorMessage, ServerError} from './errors.ts';
import {upstreamSchemaOf} from './lmid.ts';
import {
  mutationIDsOf,
  parsePushBody,
  parsePushParams,
  PUSH_VERSION,
  type MutationID,
  type MutationResponse,
  type MutationResult,
  type PushMutation,
  type PushResponse,
} from './push-request.ts';
import type {
  Database,
  ExtractTransactionType,
  TransactionProviderHooks,
  TransactionProviderInput,
} from './zql-database.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- apps type their own args
export type CustomMutatorImpl<TTransaction, TArgs = any> = (
  tx: TTransaction,
  args: TArgs,
) => Promise<void>;

/** `{namespace: {name: mutator}}`, or top-level `{name: mutator}`. */
export type CustomMutatorDefs<TTransaction> = {
  readonly [namespaceOrName: string]:
    {readonly [name: string]: CustomMutatorImpl<TTransaction>} | CustomMutatorImpl<TTransaction>;
};

export type PushProcessorOptions = {readonly logger?: Logger | undefined};

/** Thrown inside the mutation's transaction to roll it back for an app error. */
class AppError extends Error {
  readonly appCause: unknown;
  constructor(cause: unknown) {
    super('app error');
    this.appCause = cause;
  }
}

export class PushProcessor<
  D extends Database<ExtractTransactionType<D>>,
  MD extends CustomMutatorDefs<ExtractTransactionType<D>> = CustomMutatorDefs<
    ExtractTransactionType<D>
  >,
> {
  readonly #db: D;
  readonly #lc: Logger;

  constructor(db: D, options?: LogLevel | PushProcessorOptions) {
    this.#db = db;
    this.#lc =
      (typeof options === 'object' ? options.logger : undefined)?.with({part: 'push'}) ??
      silentLogger;
  }

  /** Processes a push: `request` is a Fetch Request, or its query params and parsed body. */
  process(mutators: MD, request: Request): Promise<PushResponse>;
  process(
    mutators: MD,
    queryParams: URLSearchParams | Record<string, string>,
    body: unknown,
  ): Promise<PushResponse>;
  async process(
    mutators: MD,
    requestOrParams: Request | URLSearchParams | Record<string, string>,
    body?: unknown,
  ): Promise<PushResponse> {
    let params: URLSearchParams | Record<string, string>;
    let json: unknown = body;
    if (typeof Request !== 'undefined' && requestOrParams instanceof Request) {
      try {
        params = new URL(requestOrParams.url).searchParams;
        json = JSON.parse(await requestOrParams.text()) as unknown;
      } catch {
        return httpError('invalid push request: the body must be JSON', undefined);
      }
    } else {
      params = requestOrParams as URLSearchParams | Record<string, string>;
    }
    let parsed;
    let upstreamSchema: string;
    try {
      upstreamSchema = upstreamSchemaOf(parsePushParams(params).appID);
      parsed = parsePushBody(json);
    } catch (e) {
      const message = e instanceof ServerError ? e.message : 'invalid push request';
      return httpError(message, mutationIDsOf(json));
    }
    const ids = parsed.mutations.map(m => ({id: m.id, clientID: m.clientID}));
    if (parsed.pushVersion !== PUSH_VERSION) {
      return {error: 'unsupportedPushVersion', mutationIDs: ids};
    }

    const responses: MutationResponse[] = [];
    for (const m of parsed.mutations) {
      const input: TransactionProviderInput = {
        upstreamSchema,
        clientGroupID: parsed.clientGroupID,
        clientID: m.clientID,
        mutationID: m.id,
      };
      let result: MutationResult;
      try {
        result = await this.#processMutation(mutators, m, input);
      } catch (e) {
        // The database failed outside the mutator: stop; the client resends what is left.
        this.#lc.error('push stopped: database error', {
          kind: e instanceof ServerError ? e.kind : 'unknown',
          mutationID: m.id,
        });
        break;
      }
      responses.push({id: {id: m.id, clientID: m.clientID}, result});
      if ('error' in result && result.error === 'oooMutation') break;
    }
    return {mutations: responses};
  }

  async #processMutation(
    mutators: MD,
    m: PushMutation,
    input: TransactionProviderInput,
  ): Promise<MutationResult> {
    try {
      await this.#db.transaction(async (tx, hooks) => {
        checkOrder(m, await bump(hooks));
        try {
          const fn = findMutator(mutators, m);
          await fn(tx, m.args[0]);
        } catch (e) {
          throw new AppError(e);
        }
      }, input);
      return {};
    } catch (e) {
      const order = orderResult(e);
      if (order) return order;
      if (!(e instanceof AppError) && e instanceof ServerError) throw e;
      // The mutator failed (or its commit did): its writes are rolled back. Advance the
      // last mutation id alone so the client moves on.
      const cause = e instanceof AppError ? e.appCause : e;
      try {
        await this.#db.transaction(async (_tx, hooks) => {
          checkOrder(m, await bump(hooks));
        }, input);
      } catch (e2) {
        const order2 = orderResult(e2);
        if (order2) return order2;
        throw e2;
      }
      this.#lc.debug('mutation failed with an app error', {mutationID: m.id});
      return appError(cause);
    }
  }
}

/** A failure here is the database's, never the app's: it must not become an app error. */
async function bump(hooks: TransactionProviderHooks): Promise<number> {
  try {
    return Number((await hooks.updateClientMutationID()).lastMutationID);
  } catch (e) {
    if (e instanceof ServerError) throw e;
    throw new ServerError('database', 'could not update the last mutation id', {cause: e});
  }
}

function checkOrder(m: PushMutation, lastMutationID: number): void {
  if (lastMutationID < m.id) {
    throw new ServerError(
      'oooMutation',
      `mutation ${m.id} is out of order: the next expected id is ${lastMutationID}`,
    );
  }
  if (lastMutationID > m.id) {
    throw new ServerError(
      'alreadyProcessed',
      `mutation ${m.id} was already processed (last id ${lastMutationID - 1})`,
    );
  }
}

function orderResult(e: unknown): MutationResult | undefined {
  if (e instanceof ServerError && (e.kind === 'oooMutation' || e.kind === 'alreadyProcessed')) {
    return {error: e.kind, details: e.message};
  }
  return undefined;
}

function findMutator<T>(mutators: CustomMutatorDefs<T>, m: PushMutation): CustomMutatorImpl<T> {
  if (m.type === 'crud') {
    throw new ServerError('unknownMutator', 'CRUD mutations are applied by zero-cache, not here');
  }
  const sep = m.name.includes('|') ? '|' : '.';
  const path = m.name.split(sep);
  let node: unknown = mutators;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) {
      node = undefined;
      break;
    }
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'function') {
    throw new ServerError('unknownMutator', 'no server mutator of this name');
  }
  return node as CustomMutatorImpl<T>;
}

function appError(e: unknown): MutationResult {
  const details = (e as {details?: unknown} | null)?.details;
  return {
    error: 'app',
    message: errorMessage(e),
    ...(isJSON(details) ? {details} : {}),
  };
}

function isJSON(v: unknown): v is ReadonlyJSONValue {
  if (v === undefined) return false;
  try {
    return JSON.stringify(v) !== undefined;
  } catch {
    return false;
  }
}

function httpError(details: string, mutationIDs: MutationID[] | undefined): PushResponse {
  return {error: 'http', status: 400, details, ...(mutationIDs ? {mutationIDs} : {})};
}
