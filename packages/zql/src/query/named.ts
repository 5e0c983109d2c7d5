// Synced (named) queries: a function of JSON args that returns a query tagged with
// `{name, args}`. The client syncs it by name; the app's API server resolves the name to
// the query's AST for the current user.
/* eslint-disable @typescript-eslint/no-explicit-any -- see query.ts */
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Query} from './query.ts';

export type ParseFn<T extends ReadonlyJSONValue[]> = (args: unknown[]) => T;
export type HasParseFn<T extends ReadonlyJSONValue[]> = {parse: ParseFn<T>};
export type Parser<T extends ReadonlyJSONValue[]> = ParseFn<T> | HasParseFn<T>;

export type QueryFn<
  TContext,
  TTakesContext extends boolean,
  TArg extends ReadonlyJSONValue[],
  TReturnQuery extends Query<any, any, any>,
> = TTakesContext extends false
  ? {(...args: TArg): TReturnQuery}
  : {(context: TContext, ...args: TArg): TReturnQuery};

export type SyncedQuery<
  TName extends string,
  TContext,
  TTakesContext extends boolean,
  TArg extends ReadonlyJSONValue[],
  TReturnQuery extends Query<any, any, any>,
> = QueryFn<TContext, TTakesContext, TArg, TReturnQuery> & {
  readonly queryName: TName;
  readonly parse: ParseFn<TArg> | undefined;
  readonly takesContext: TTakesContext;
};

function toParseFn<T extends ReadonlyJSONValue[]>(
  parser: Parser<T> | undefined,
): ParseFn<T> | undefined {
  if (parser === undefined) return undefined;
  if (typeof parser === 'function') return parser;
  if (typeof parser.parse === 'function') return args => parser.parse(args);
  throw new TypeError('a synced query parser must be a function or have a parse() method');
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('a synced query needs a non-empty name');
  }
}

export function syncedQuery<
  TName extends string,
  TArg extends ReadonlyJSONValue[],
  TReturnQuery extends Query<any, any, any>,
>(
  name: TName,
  parser: Parser<TArg> | undefined,
  fn: QueryFn<unknown, false, TArg, TReturnQuery>,
): SyncedQuery<TName, unknown, false, TArg, TReturnQuery> {
  checkName(name);
  const parse = toParseFn(parser);
  const q = (...args: TArg) => fn(...args).nameAndArgs(name, args) as TReturnQuery;
  return Object.assign(q, {queryName: name, parse, takesContext: false as const});
}

export function syncedQueryWithContext<
  TName extends string,
  TContext,
  TArg extends ReadonlyJSONValue[],
  TReturnQuery extends Query<any, any, any>,
>(
  name: TName,
  parser: Parser<TArg> | undefined,
  fn: QueryFn<TContext, true, TArg, TReturnQuery>,
): SyncedQuery<TName, TContext, true, TArg, TReturnQuery> {
  checkName(name);
  const parse = toParseFn(parser);
  const q = (context: TContext, ...args: TArg) =>
    fn(context, ...args).nameAndArgs(name, args) as TReturnQuery;
  return Object.assign(q, {queryName: name, parse, takesContext: true as const});
}

/**
 * For the server: a version of a synced query that validates its args with its parser
 * before building the query (the client does not validate). Always takes a context.
 */
export function withValidation<T extends SyncedQuery<any, any, any, any, any>>(
  fn: T,
): T extends SyncedQuery<infer N, infer C, any, any, infer R>
  ? SyncedQuery<N, C, true, ReadonlyJSONValue[], R>
  : never {
  const parse = fn.parse as ParseFn<ReadonlyJSONValue[]> | undefined;
  if (!parse) {
    throw new TypeError(`synced query "${fn.queryName}" has no parser to validate with`);
  }
  const call = fn as unknown as (...a: unknown[]) => Query<any, any, any>;
  const validated = (context: unknown, ...args: unknown[]) => {
    const parsed = parse(args) as unknown[];
    return fn.takesContext ? call(context, ...parsed) : call(...parsed);
  };
  return Object.assign(validated, {
    queryName: fn.queryName as string,
    parse,
    takesContext: true as const,
  }) as never;
}
