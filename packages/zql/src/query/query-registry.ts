// Defined queries (the Zero 1.x API): `defineQuery(validator?, ({args, ctx}) => query)`
// gathered by `defineQueries({...})`. Calling `queries.issue.byId(args)` gives a request;
// the client (or the app's server) turns it into a query with its context. On the wire a
// defined query is a synced query: its dotted name and `[args]` (`[]` without args).
/* eslint-disable @typescript-eslint/no-explicit-any -- see query.ts */
import type {ReadonlyJSONValue} from '@zync/shared';
import type {DefaultContext, DefaultSchema} from '../default-types.ts';
import type {Schema} from '../schema/schema.ts';
import type {PullRow, Query} from './query.ts';
import type {DeepMerge} from './registry-tree.ts';
import {buildRegistry, isRegistryOf, leafAt, type Tree} from './registry-tree.ts';
import type {StandardSchemaV1} from './standard-schema.ts';
import {isStandardSchema, validateInput} from './standard-schema.ts';

type Args = ReadonlyJSONValue | undefined;

export type QueryDefinitionFunction<TTable extends string, TArgs, TReturn, TContext> = (options: {
  args: TArgs;
  ctx: TContext;
}) => Query<any, TTable, TReturn>;

/** What `defineQuery` returns; named by its place in `defineQueries`. */
export type QueryDefinition<
  TTable extends string,
  TInput extends Args,
  TOutput extends Args,
  TReturn,
  TContext = DefaultContext,
> = {
  readonly fn: QueryDefinitionFunction<TTable, TOutput, TReturn, TContext>;
  readonly validator: StandardSchemaV1<TInput, TOutput> | undefined;
  readonly '~': 'QueryDefinition' & {
    readonly $tableName: TTable;
    readonly $input: TInput;
    readonly $output: TOutput;
    readonly $return: TReturn;
    readonly $context: TContext;
  };
};

/** Any definition; without type parameters for the reason given in mutator-registry.ts. */
export type AnyQueryDefinition = {
  readonly fn: unknown;
  readonly validator: unknown;
  readonly '~': 'QueryDefinition';
};

type Phantom<TTable, TInput, TSchema, TReturn, TContext> = {
  readonly $tableName: TTable;
  readonly $input: TInput;
  readonly $schema: TSchema;
  readonly $return: TReturn;
  readonly $context: TContext;
};

/** A query with its args, not yet bound to a context: what `queries.x.y(args)` returns. */
export type QueryRequest<
  TTable extends string,
  TInput extends Args,
  TSchema extends Schema,
  TReturn,
  TContext,
> = {
  readonly query: CustomQuery<TTable, TInput, TSchema, TReturn, TContext>;
  readonly args: TInput;
  readonly '~': 'QueryRequest' & Phantom<TTable, TInput, TSchema, TReturn, TContext>;
};

/** Any request, whatever its types (the callable part of a query is left out). */
export type AnyQueryRequest = {
  readonly query: {
    readonly queryName: string;
    readonly fn: (options: {args: any; ctx: any}) => Query<any, string, any>;
  };
  readonly args: any;
  readonly '~': 'QueryRequest';
};

type Callable<TTable extends string, TInput extends Args, TSchema extends Schema, TReturn, TCtx> = [
  TInput,
] extends [undefined]
  ? () => QueryRequest<TTable, TInput, TSchema, TReturn, TCtx>
  : undefined extends TInput
    ? (args?: TInput) => QueryRequest<TTable, TInput, TSchema, TReturn, TCtx>
    : (args: TInput) => QueryRequest<TTable, TInput, TSchema, TReturn, TCtx>;

/** A named, callable query of a registry. `fn` validates the args and builds the query. */
export type CustomQuery<
  TTable extends string,
  TInput extends Args,
  TSchema extends Schema = DefaultSchema,
  TReturn = PullRow<TTable, TSchema>,
  TContext = DefaultContext,
> = Callable<TTable, TInput, TSchema, TReturn, TContext> & {
  readonly queryName: string;
  readonly fn: (options: {args: TInput; ctx: TContext}) => Query<TSchema, TTable, TReturn>;
  readonly '~': 'Query' & Phantom<TTable, TInput, TSchema, TReturn, TContext>;
};

export type AnyCustomQuery = ((args?: any) => AnyQueryRequest) & {
  readonly queryName: string;
  readonly fn: (options: {args: any; ctx: any}) => Query<any, string, any>;
  readonly '~': 'Query';
};

export type QueryDefinitions = {readonly [key: string]: AnyQueryDefinition | QueryDefinitions};

type ToQueryTree<QD, S extends Schema> = {
  readonly [K in keyof QD]: QD[K] extends QueryDefinition<infer T, infer I, any, infer R, infer C>
    ? CustomQuery<T, I, S, R, C>
    : QD[K] extends QueryRegistry<infer Inner, any>
      ? ToQueryTree<Inner, S>
      : ToQueryTree<QD[K], S>;
};

export type QueryRegistry<QD, S extends Schema> = ToQueryTree<QD, S> & {
  readonly '~': 'QueryRegistry' & {readonly $schema: S; readonly $defs: QD};
};

export type AnyQueryRegistry = {readonly '~': 'QueryRegistry'; readonly [key: string]: unknown};

export function isQueryDefinition(v: unknown): v is AnyQueryDefinition {
  return typeof v === 'object' && v !== null && (v as {'~'?: unknown})['~'] === 'QueryDefinition';
}

export function isQuery(v: unknown): v is AnyCustomQuery {
  return (
    typeof v === 'function' &&
    typeof (v as {queryName?: unknown}).queryName === 'string' &&
    typeof (v as {fn?: unknown}).fn === 'function'
  );
}

export function isQueryRequest(v: unknown): v is AnyQueryRequest {
  return typeof v === 'object' && v !== null && (v as {'~'?: unknown})['~'] === 'QueryRequest';
}

export function isQueryRegistry(v: unknown): v is AnyQueryRegistry {
  return isRegistryOf('Query', v);
}

export function defineQuery<
  TInput extends Args,
  TContext = DefaultContext,
  TSchema extends Schema = DefaultSchema,
  TTable extends keyof TSchema['tables'] & string = keyof TSchema['tables'] & string,
  TReturn = PullRow<TTable, TSchema>,
>(
  fn: QueryDefinitionFunction<TTable, TInput, TReturn, TContext>,
): QueryDefinition<TTable, TInput, TInput, TReturn, TContext>;
export function defineQuery<
  TInput extends Args,
  TOutput extends Args,
  TContext = DefaultContext,
  TSchema extends Schema = DefaultSchema,
  TTable extends keyof TSchema['tables'] & string = keyof TSchema['tables'] & string,
  TReturn = PullRow<TTable, TSchema>,
>(
  validator: StandardSchemaV1<TInput, TOutput>,
  fn: QueryDefinitionFunction<TTable, TOutput, TReturn, TContext>,
): QueryDefinition<TTable, TInput, TOutput, TReturn, TContext>;
export function defineQuery(validatorOrFn: unknown, maybeFn?: unknown): AnyQueryDefinition {
  const [validator, fn] = splitDefinition('defineQuery', validatorOrFn, maybeFn);
  return Object.freeze({fn, validator, '~': 'QueryDefinition'});
}

/** `(validator, fn)` or `(fn)`, checked: a TypeError says what is wrong. */
export function splitDefinition(
  what: string,
  validatorOrFn: unknown,
  maybeFn: unknown,
): [StandardSchemaV1 | undefined, (...a: any[]) => unknown] {
  if (typeof validatorOrFn === 'function' && maybeFn === undefined) {
    return [undefined, validatorOrFn as (...a: any[]) => unknown];
  }
  if (!isStandardSchema(validatorOrFn)) {
    throw new TypeError(
      `${what}: pass a function, or a Standard Schema validator (e.g. from zod) and a function`,
    );
  }
  if (typeof maybeFn !== 'function') {
    throw new TypeError(`${what}: the second argument must be the function`);
  }
  return [validatorOrFn, maybeFn as (...a: any[]) => unknown];
}

function createQuery(
  name: string,
  def: QueryDefinition<string, Args, Args, unknown, unknown>,
): AnyCustomQuery {
  const fn = ({args, ctx}: {args: Args; ctx: unknown}) => {
    const valid = validateInput('query', name, args, def.validator);
    const q: unknown = def.fn({args: valid, ctx});
    if (typeof (q as Partial<Query<any, any>> | null)?.nameAndArgs !== 'function') {
      throw new TypeError(`query "${name}" must return a query built with createBuilder(schema)`);
    }
    return (q as Query<any, any>).nameAndArgs(name, args === undefined ? [] : [args]);
  };
  const query = (args?: Args) => Object.freeze({query, args, '~': 'QueryRequest'});
  return Object.assign(query, {queryName: name, fn, '~': 'Query'}) as unknown as AnyCustomQuery;
}

/**
 * Gathers query definitions (nested objects allowed) into a registry of callable queries,
 * each named by its path. `defineQueries(base, overrides)` extends an earlier registry.
 */
export function defineQueries<const QD extends QueryDefinitions, S extends Schema = DefaultSchema>(
  defs: QD,
): QueryRegistry<QD, S>;
export function defineQueries<
  const QB extends QueryDefinitions,
  const QD extends QueryDefinitions,
  S extends Schema = DefaultSchema,
>(
  base: QueryRegistry<QB, S> | QB,
  overrides: QD,
): QueryRegistry<DeepMerge<QB, QD, AnyQueryDefinition>, S>;
export function defineQueries(defsOrBase: unknown, overrides?: unknown): unknown {
  const make = (name: string, def: unknown) =>
    createQuery(name, def as QueryDefinition<string, Args, Args, unknown, unknown>);
  if (overrides === undefined) return buildRegistry('Query', defsOrBase, isQueryDefinition, make);
  const base = isQueryRegistry(defsOrBase)
    ? (defsOrBase as Tree)
    : buildRegistry('Query', defsOrBase, isQueryDefinition, make);
  return buildRegistry('Query', overrides, isQueryDefinition, make, base);
}

export function getQuery(queries: AnyQueryRegistry, name: string): AnyCustomQuery | undefined {
  const q = leafAt(queries, name);
  return isQuery(q) ? q : undefined;
}

/** The query at a dotted name (as sent on the wire); a TypeError when there is none. */
export function mustGetQuery(queries: AnyQueryRegistry, name: string): AnyCustomQuery {
  if (!isQueryRegistry(queries)) {
    throw new TypeError('mustGetQuery: the first argument must come from defineQueries()');
  }
  const q = getQuery(queries, name);
  if (!q) throw new TypeError(`mustGetQuery: no query named "${name}" in this registry`);
  return q;
}

/** A query as it is, or a defined query's request turned into its query for `ctx`. */
export function toQuery<Q>(query: Q | AnyQueryRequest, ctx: unknown): Q {
  if (isQueryRequest(query)) {
    const args: unknown = query.args;
    return query.query.fn({args, ctx}) as Q;
  }
  return query;
}
