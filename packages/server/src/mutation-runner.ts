// Runs one mutation in its own transaction with the client's last mutation id checked and
// bumped in that same transaction. PushProcessor (0.24) and handleMutateRequest (1.x)
// both run mutations through here, so the bookkeeping exists once.
import type {ReadonlyJSONValue} from '@zync/shared';
import {errorMessage, ServerError} from './errors.ts';
import {parsePushBody, parsePushParams, mutationIDsOf, upstreamSchemaOf} from './push-request.ts';
import type {MutationID, MutationResult, PushMutation, PushRequestBody} from './push-request.ts';
import type {
  Database,
  ExtractTransactionType,
  TransactionProviderHooks,
  TransactionProviderInput,
} from './zql-database.ts';

/** Thrown inside the mutation's transaction to roll it back for an app error. */
class AppError extends Error {
  readonly appCause: unknown;
  constructor(cause: unknown) {
    super('app error');
    this.appCause = cause;
  }
}

/**
 * Runs `run` in a transaction that first bumps the last mutation id. Returns `{}` when it
 * committed; an app error when `run` (or the commit) failed, after advancing the last
 * mutation id alone so the client moves on; `alreadyProcessed` / `oooMutation` when the id
 * is not the next one. Throws ServerError('database') when the database failed outside
 * the mutator: nothing was recorded.
 */
export async function runMutation<D extends Database<ExtractTransactionType<D>>>(
  db: D,
  m: PushMutation,
  input: TransactionProviderInput,
  run: (tx: ExtractTransactionType<D>) => Promise<void>,
): Promise<MutationResult> {
  try {
    await db.transaction(async (tx, hooks) => {
      checkOrder(m, await bump(hooks));
      try {
        await run(tx);
      } catch (e) {
        throw new AppError(e);
      }
    }, input);
    return {};
  } catch (e) {
    const order = orderResult(e);
    if (order) return order;
    if (!(e instanceof AppError) && e instanceof ServerError) throw e;
    // The mutator failed (or its commit did): its writes are rolled back.
    return recordFailure(db, m, input, e instanceof AppError ? e.appCause : e);
  }
}

/**
 * Records a mutation that failed before it could run: advances the last mutation id alone
 * and returns the app error (or the order error, if the id is not the next one).
 */
export async function recordFailure<D extends Database<ExtractTransactionType<D>>>(
  db: D,
  m: PushMutation,
  input: TransactionProviderInput,
  cause: unknown,
): Promise<MutationResult> {
  try {
    await db.transaction(async (_tx, hooks) => {
      checkOrder(m, await bump(hooks));
    }, input);
  } catch (e) {
    const order = orderResult(e);
    if (order) return order;
    throw e;
  }
  return appError(cause);
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

export function appError(e: unknown): MutationResult {
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

export type ReadPush =
  | {readonly ok: true; readonly upstreamSchema: string; readonly body: PushRequestBody}
  | {readonly ok: false; readonly message: string; readonly mutationIDs: MutationID[] | undefined};

/** Reads and validates a push: a Fetch Request, or its query params and parsed body. */
export async function readPush(
  requestOrParams: Request | URLSearchParams | Record<string, string>,
  body: unknown,
): Promise<ReadPush> {
  let params: URLSearchParams | Record<string, string>;
  let json: unknown = body;
  if (typeof Request !== 'undefined' && requestOrParams instanceof Request) {
    try {
      params = new URL(requestOrParams.url).searchParams;
      json = JSON.parse(await requestOrParams.text()) as unknown;
    } catch {
      return {ok: false, message: 'invalid push request: the body must be JSON', mutationIDs: []};
    }
  } else {
    params = requestOrParams as URLSearchParams | Record<string, string>;
  }
  try {
    const upstreamSchema = upstreamSchemaOf(parsePushParams(params).appID);
    return {ok: true, upstreamSchema, body: parsePushBody(json)};
  } catch (e) {
    const message = e instanceof ServerError ? e.message : 'invalid push request';
    return {ok: false, message, mutationIDs: mutationIDsOf(json)};
  }
}

export function transactionInput(
  upstreamSchema: string,
  body: PushRequestBody,
  m: PushMutation,
): TransactionProviderInput {
  return {
    upstreamSchema,
    clientGroupID: body.clientGroupID,
    clientID: m.clientID,
    mutationID: m.id,
  };
}
