// `handleMutateRequest` (Zero 1.x): processes zero-cache's push on the app's API server.
// The handler is called once per mutation with `transact`, which runs the mutation's
// database work in one transaction with the client's last mutation id checked and bumped
// there too (mutation-runner.ts, the same bookkeeping as PushProcessor), passing the
// mutator's name and its one args value:
//   handleMutateRequest({dbProvider, handler: transact => transact((tx, name, args) => …),
//     request, userID})
import {silentLogger, type Logger, type LogLevel, type ReadonlyJSONValue} from '@zync/shared';
import {ServerError} from './errors.ts';
import {readPush, recordFailure, runMutation, transactionInput} from './mutation-runner.ts';
import {
  PUSH_VERSION,
  type MutationID,
  type MutationResponse,
  type MutationResult,
  type PushMutation,
} from './push-request.ts';
import type {Database, ExtractTransactionType} from './zql-database.ts';

/** One mutation as zero-cache forwards it. */
export type CustomMutation = PushMutation;

export type TransactFnCallback<D extends Database<ExtractTransactionType<D>>> = (
  tx: ExtractTransactionType<D>,
  mutatorName: string,
  mutatorArgs: ReadonlyJSONValue | undefined,
) => Promise<void>;

export type TransactFn<D extends Database<ExtractTransactionType<D>>> = (
  cb: TransactFnCallback<D>,
) => Promise<MutationResponse>;

/**
 * Runs once per mutation. Throwing before `transact` records an app error for the
 * mutation; throwing after it is only logged, since the mutation has committed.
 */
export type MutateRequestHandler<D extends Database<ExtractTransactionType<D>>> = (
  transact: TransactFn<D>,
  mutation: CustomMutation,
) => Promise<MutationResponse>;

export type MutateSearchParams = URLSearchParams | Record<string, string>;

export type HandleMutateRequestArgs<D extends Database<ExtractTransactionType<D>>> = {
  readonly dbProvider: D;
  readonly handler: MutateRequestHandler<D>;
  /** The authenticated user, or null/undefined when logged out. Echoed to zero-cache. */
  readonly userID: string | null | undefined;
  /** Accepted for Zero 1.x compatibility; pass `logger` to see what happens. */
  readonly logLevel?: LogLevel | undefined;
  readonly logger?: Logger | undefined;
} & (
  | {readonly request: Request}
  | {readonly query: MutateSearchParams; readonly body: ReadonlyJSONValue}
);

export type PushFailedReason =
  'parse' | 'database' | 'internal' | 'oooMutation' | 'unsupportedPushVersion';

export type MutateResponse =
  | {
      readonly kind: 'MutateResponse';
      readonly userID?: string | null;
      readonly mutations: readonly MutationResponse[];
    }
  | {
      readonly kind: 'PushFailed';
      readonly origin: 'server';
      readonly reason: PushFailedReason;
      readonly message: string;
      readonly mutationIDs: readonly MutationID[];
    };

type Normalized<D extends Database<ExtractTransactionType<D>>> = {
  readonly db: D;
  readonly handler: MutateRequestHandler<D>;
  readonly userID: string | null | undefined;
  readonly source: Request | MutateSearchParams;
  readonly body: unknown;
  readonly logger: Logger;
};

function normalize<D extends Database<ExtractTransactionType<D>>>(
  a: HandleMutateRequestArgs<D> | D,
  handler: MutateRequestHandler<D> | undefined,
  requestOrQuery: Request | MutateSearchParams | undefined,
  body: unknown,
): Normalized<D> {
  const n: Normalized<D> =
    typeof a === 'object' && a !== null && 'handler' in a && 'dbProvider' in a
      ? {
          db: a.dbProvider,
          handler: a.handler,
          // The object form always names the user; undefined means logged out, like null.
          userID: a.userID ?? null,
          source: 'request' in a ? a.request : a.query,
          body: 'request' in a ? undefined : a.body,
          logger: a.logger ?? silentLogger,
        }
      : {
          db: a,
          handler: handler!,
          userID: undefined,
          source: requestOrQuery!,
          body,
          logger: silentLogger,
        };
  if (typeof n.db?.transaction !== 'function') {
    throw new TypeError('handleMutateRequest: dbProvider must have a transaction method');
  }
  if (typeof n.handler !== 'function') {
    throw new TypeError('handleMutateRequest: handler must be a function');
  }
  if (n.userID !== undefined && n.userID !== null && typeof n.userID !== 'string') {
    throw new TypeError('handleMutateRequest: userID must be a string, null or undefined');
  }
  if (typeof n.source !== 'object' || n.source === null) {
    throw new TypeError('handleMutateRequest: a request, or query params and a body, are required');
  }
  return n;
}

function failed(
  reason: PushFailedReason,
  message: string,
  mutationIDs: readonly MutationID[],
): MutateResponse {
  return {kind: 'PushFailed', origin: 'server', reason, message, mutationIDs};
}

function isResponseFor(v: unknown, m: PushMutation): v is MutationResponse {
  const r = v as {id?: {id?: unknown; clientID?: unknown}; result?: unknown} | null | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.id?.id === m.id &&
    r.id.clientID === m.clientID &&
    typeof r.result === 'object' &&
    r.result !== null
  );
}

/** Processes a push: `handleMutateRequest({dbProvider, handler, request, userID})`. */
export function handleMutateRequest<D extends Database<ExtractTransactionType<D>>>(
  input: HandleMutateRequestArgs<D>,
): Promise<MutateResponse>;
/** The positional forms Zero 1.x also accepts (no userID is echoed). */
export function handleMutateRequest<D extends Database<ExtractTransactionType<D>>>(
  dbProvider: D,
  handler: MutateRequestHandler<D>,
  query: MutateSearchParams,
  body: ReadonlyJSONValue,
  logLevel?: LogLevel,
): Promise<MutateResponse>;
export function handleMutateRequest<D extends Database<ExtractTransactionType<D>>>(
  dbProvider: D,
  handler: MutateRequestHandler<D>,
  request: Request,
  logLevel?: LogLevel,
): Promise<MutateResponse>;
export async function handleMutateRequest<D extends Database<ExtractTransactionType<D>>>(
  inputOrDB: HandleMutateRequestArgs<D> | D,
  handlerArg?: MutateRequestHandler<D>,
  requestOrQuery?: Request | MutateSearchParams,
  body?: unknown,
): Promise<MutateResponse> {
  const n = normalize(inputOrDB, handlerArg, requestOrQuery, body);
  const read = await readPush(n.source, n.body);
  if (!read.ok) return failed('parse', read.message, read.mutationIDs ?? []);
  const push = read.body;
  const ids = push.mutations.map(m => ({id: m.id, clientID: m.clientID}));
  if (push.pushVersion !== PUSH_VERSION) {
    return failed('unsupportedPushVersion', `unsupported push version`, ids);
  }

  const responses: MutationResponse[] = [];
  for (const [i, m] of push.mutations.entries()) {
    try {
      responses.push(await processOne(n, m, transactionInput(read.upstreamSchema, push, m)));
    } catch (e) {
      // The database failed, or the ids are out of order: stop; zero-cache keeps the rest
      // pending and resends them. The cause's text may hold row data: it is not returned.
      const ooo = e instanceof ServerError && e.kind === 'oooMutation';
      n.logger.error('push stopped', {
        kind: e instanceof ServerError ? e.kind : 'internal',
        mutationID: m.id,
      });
      return failed(
        ooo ? 'oooMutation' : e instanceof ServerError ? 'database' : 'internal',
        ooo ? e.message : 'the mutation could not be processed; it stays pending',
        ids.slice(i),
      );
    }
  }
  return {
    kind: 'MutateResponse',
    mutations: responses,
    ...(n.userID === undefined ? {} : {userID: n.userID}),
  };
}

async function processOne<D extends Database<ExtractTransactionType<D>>>(
  n: Normalized<D>,
  m: PushMutation,
  input: ReturnType<typeof transactionInput>,
): Promise<MutationResponse> {
  const id = {id: m.id, clientID: m.clientID};
  // `done`: transact has recorded the mutation (committed, or failed and recorded).
  const state: {phase: 'before' | 'running' | 'done'} = {phase: 'before'};
  let committed: MutationResponse | undefined;
  const transact: TransactFn<D> = async cb => {
    if (state.phase !== 'before') {
      throw new TypeError('handleMutateRequest: transact may run once per mutation');
    }
    state.phase = 'running';
    const result: MutationResult = await runMutation(n.db, m, input, tx =>
      cb(tx, m.name, m.args[0]),
    );
    if ('error' in result && result.error === 'oooMutation') {
      throw new ServerError('oooMutation', `mutation ${m.id} is out of order`);
    }
    state.phase = 'done';
    committed = {id, result};
    return committed;
  };
  if (m.type === 'crud') {
    const result = await recordFailure(
      n.db,
      m,
      input,
      new Error('CRUD mutations are applied by zero-cache, not by the API server'),
    );
    return {id, result};
  }
  let returned: unknown;
  try {
    returned = await n.handler(transact, m);
  } catch (e) {
    if (state.phase === 'running') throw e;
    if (state.phase === 'done') {
      n.logger.error('the mutate handler failed after its mutation was recorded', {
        mutationID: m.id,
      });
      return committed!;
    }
    const result = await recordFailure(n.db, m, input, e);
    if ('error' in result && result.error === 'oooMutation') {
      throw new ServerError('oooMutation', `mutation ${m.id} is out of order`);
    }
    return {id, result};
  }
  if (isResponseFor(returned, m)) return returned;
  if (committed) return committed;
  // The handler returned without running the mutation: record it as failed so the client
  // is not stuck resending it.
  const result = await recordFailure(
    n.db,
    m,
    input,
    new Error('the mutate handler returned without running the mutation'),
  );
  return {id, result};
}
