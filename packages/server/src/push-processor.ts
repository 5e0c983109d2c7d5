// `PushProcessor`: runs the mutations of one push, each in its own transaction, with the
// client's last mutation id checked and bumped in that same transaction.
import {silentLogger, type Logger, type LogLevel} from '@zync/shared';
import {ServerError} from './errors.ts';
import {readPush, runMutation, transactionInput} from './mutation-runner.ts';
import {
  PUSH_VERSION,
  type MutationID,
  type MutationResponse,
  type MutationResult,
  type PushMutation,
  type PushResponse,
} from './push-request.ts';
import type {Database, ExtractTransactionType} from './zql-database.ts';

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
    const read = await readPush(requestOrParams, body);
    if (!read.ok) return httpError(read.message, read.mutationIDs);
    const parsed = read.body;
    const ids = parsed.mutations.map(m => ({id: m.id, clientID: m.clientID}));
    if (parsed.pushVersion !== PUSH_VERSION) {
      return {error: 'unsupportedPushVersion', mutationIDs: ids};
    }

    const responses: MutationResponse[] = [];
    for (const m of parsed.mutations) {
      let result: MutationResult;
      try {
        result = await runMutation(
          this.#db,
          m,
          transactionInput(read.upstreamSchema, parsed, m),
          tx => findMutator(mutators, m)(tx, m.args[0]),
        );
      } catch (e) {
        // The database failed outside the mutator: stop; the client resends what is left.
        this.#lc.error('push stopped: database error', {
          kind: e instanceof ServerError ? e.kind : 'unknown',
          mutationID: m.id,
        });
        break;
      }
      if ('error' in result && result.error === 'app') {
        this.#lc.debug('mutation failed with an app error', {mutationID: m.id});
      }
      responses.push({id: {id: m.id, clientID: m.clientID}, result});
      if ('error' in result && result.error === 'oooMutation') break;
    }
    return {mutations: responses};
  }
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

function httpError(details: string, mutationIDs: MutationID[] | undefined): PushResponse {
  return {error: 'http', status: 400, details, ...(mutationIDs ? {mutationIDs} : {})};
}
