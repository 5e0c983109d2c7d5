// `zero.mutate`: callable with a defined mutator's request (Zero 1.x,
// `zero.mutate(mutators.issue.create(args))`) and carrying the 0.24 forms as properties
// (`zero.mutate.issue.insert(row)`, `zero.mutate.ns.name(args)`).
import type {ReadonlyJSONValue} from '@zync/shared';
import type {AnyMutateRequest, DeleteID, InsertValue, Schema, UpdateValue} from '@zync/zql';
import {isMutateRequest, legacyMutatorsEnabled} from '@zync/zql';
import type {MutationManager, MutatorResult as LegacyResult, ServerOutcome} from './mutations.ts';

/** How a defined mutator's run ended, on the client or on the server (Zero 1.x). */
export type MutatorResultDetails =
  | {readonly type: 'success'}
  | {
      readonly type: 'error';
      readonly error:
        | {
            readonly type: 'app';
            readonly message: string;
            readonly details: ReadonlyJSONValue | undefined;
          }
        | {readonly type: 'zero'; readonly message: string};
    };

/** What `zero.mutate(request)` returns: both promises resolve, with an error or success. */
export type MutatorResult = {
  readonly client: Promise<MutatorResultDetails>;
  readonly server: Promise<MutatorResultDetails>;
};

export type CrudMutate<S extends Schema> = {
  readonly [T in keyof S['tables']]: {
    readonly [Op in 'insert' | 'upsert' | 'update' | 'delete']: (
      value: Op extends 'insert' | 'upsert'
        ? InsertValue<S['tables'][T]>
        : Op extends 'update'
          ? UpdateValue<S['tables'][T]>
          : DeleteID<S['tables'][T]>,
    ) => LegacyResult;
  };
};

export type CustomMutate<MD> = {
  readonly [NS in keyof MD]: {
    readonly [N in keyof MD[NS]]: MD[NS][N] extends (tx: never, ...args: infer A) => unknown
      ? (...args: A) => LegacyResult
      : never;
  };
};

export type ZeroMutate<S extends Schema, MD> = ((request: AnyMutateRequest) => MutatorResult) &
  (MD extends undefined | {readonly '~': 'MutatorRegistry'}
    ? CrudMutate<S>
    : CrudMutate<S> & CustomMutate<MD>);

const SUCCESS: MutatorResultDetails = Object.freeze({type: 'success'});

export function makeZeroMutate(manager: MutationManager, schema: Schema): unknown {
  const mutate = (request: unknown): MutatorResult => {
    if (!isMutateRequest(request)) {
      throw new TypeError(
        'zero.mutate(request): pass a defined mutator called with its args, ' +
          'e.g. zero.mutate(mutators.issue.create({...}))',
      );
    }
    const name = request.mutator.mutatorName;
    if (manager.appMutators.defined.get(name) !== request.mutator) {
      throw new TypeError(
        `zero.mutate: mutator "${name}" is not registered; pass its registry (from defineMutators) as \`mutators\` to new Zero()`,
      );
    }
    const r = manager.runNamed(name, request.args as ReadonlyJSONValue);
    const client = r.client.then(() => SUCCESS, appError);
    const server = client.then(c => (c.type === 'error' ? c : r.server.then(toDetails)));
    return {client, server};
  };
  for (const [key, value] of Object.entries(manager.mutate)) {
    Object.defineProperty(mutate, key, {value, enumerable: true});
  }
  if (!legacyMutatorsEnabled(schema)) {
    for (const table of Object.keys(schema.tables)) {
      if (Object.hasOwn(manager.mutate, table)) continue;
      Object.defineProperty(mutate, table, {
        enumerable: false,
        get() {
          throw new TypeError(
            `zero.mutate.${table}: CRUD mutators are off (the schema sets enableLegacyMutators: false); ` +
              'write a mutator with defineMutators and call zero.mutate(mutators.….(args))',
          );
        },
      });
    }
  }
  return mutate;
}

function appError(e: unknown): MutatorResultDetails {
  const details = (e as {details?: unknown} | null)?.details;
  return {
    type: 'error',
    error: {
      type: 'app',
      message: e instanceof Error ? e.message : String(e),
      details: isJSON(details) ? details : undefined,
    },
  };
}

function toDetails(o: ServerOutcome): MutatorResultDetails {
  if (o.type === 'success') return SUCCESS;
  if (o.error.type === 'zero')
    return {type: 'error', error: {type: 'zero', message: o.error.message}};
  return {type: 'error', error: {type: 'app', message: o.error.message, details: o.error.details}};
}

function isJSON(v: unknown): v is ReadonlyJSONValue {
  try {
    return v !== undefined && JSON.stringify(v) !== undefined;
  } catch {
    return false;
  }
}
