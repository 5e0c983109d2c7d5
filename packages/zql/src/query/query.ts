// The public Query interface and the type-level machinery behind its result types.
// Result types follow `related()` (one → object | undefined, many → array) and `.one()`.
/* eslint-disable @typescript-eslint/no-explicit-any -- `any` in conditional-type patterns
   matches every Query regardless of its schema, as the public types of Zero do. */
import type {AST, SimpleOperator} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {SchemaValueToTSType, SchemaValueWithCustomType} from '../schema/column.ts';
import type {LastInTuple} from '../schema/relationships.ts';
import type {Schema} from '../schema/schema.ts';
import type {TableSchema} from '../schema/table.ts';
import type {
  CustomQueryID,
  Format,
  PreloadOptions,
  QueryDelegate,
  RunOptions,
  TTL,
  TypedView,
  ViewFactory,
} from './delegate.ts';
import type {delegateSymbol} from './delegate.ts';
import type {ExpressionFactory} from './expression.ts';

export type Expand<T> = T extends infer O ? {[K in keyof O]: O[K]} : never;

type Selector<T extends TableSchema> = keyof T['columns'] & string;

type JsonSelectors<T extends TableSchema> = {
  [K in keyof T['columns']]: T['columns'][K] extends {type: 'json'} ? K : never;
}[keyof T['columns']];

type ArraySelectors<T extends TableSchema> = {
  [K in keyof T['columns']]: T['columns'][K] extends SchemaValueWithCustomType<any[]> ? K : never;
}[keyof T['columns']];

/** Columns that can be compared in `where` (json and array columns cannot). */
export type NoCompoundTypeSelector<T extends TableSchema> = Exclude<
  Selector<T>,
  JsonSelectors<T> | ArraySelectors<T>
>;

export type GetFilterType<
  T extends TableSchema,
  TColumn extends keyof T['columns'],
  TOperator extends SimpleOperator,
> = TOperator extends 'IS' | 'IS NOT'
  ? SchemaValueToTSType<T['columns'][TColumn]> | null
  : TOperator extends 'IN' | 'NOT IN'
    ? readonly Exclude<SchemaValueToTSType<T['columns'][TColumn]>, null>[]
    : Exclude<SchemaValueToTSType<T['columns'][TColumn]>, null>;

export type PullTableSchema<
  TTable extends string,
  TSchema extends Schema,
> = TSchema['tables'][TTable];

export type PullRow<TTable extends string, TSchema extends Schema> = {
  readonly [K in keyof PullTableSchema<TTable, TSchema>['columns']]: SchemaValueToTSType<
    PullTableSchema<TTable, TSchema>['columns'][K]
  >;
} & {};

export type AvailableRelationships<
  TTable extends string,
  TSchema extends Schema,
> = keyof NonNullable<TSchema['relationships'][TTable]> & string;

export type DestTableName<
  TTable extends string,
  TSchema extends Schema,
  TRelationship extends string,
> = LastInTuple<NonNullable<TSchema['relationships'][TTable]>[TRelationship]>['destSchema'];

type DestRow<
  TTable extends string,
  TSchema extends Schema,
  TRelationship extends string,
> = NonNullable<TSchema['relationships'][TTable]>[TRelationship][0]['cardinality'] extends 'many'
  ? PullRow<DestTableName<TTable, TSchema, TRelationship>, TSchema>
  : PullRow<DestTableName<TTable, TSchema, TRelationship>, TSchema> | undefined;

type AddSubreturn<TExisting, TSub, TAs extends string> = {
  readonly [K in TAs]: undefined extends TSub ? TSub : readonly TSub[];
} extends infer TNew
  ? undefined extends TExisting
    ? (Exclude<TExisting, undefined> & TNew) | undefined
    : TExisting & TNew
  : never;

/** The row type of a query (or of a function returning one, e.g. a synced query). */
export type QueryRowType<Q> = Q extends (...args: any) => Query<any, any, infer R>
  ? R
  : Q extends Query<any, any, infer R>
    ? R
    : Q extends {readonly '~': {readonly $return: infer R}}
      ? R // a defined query or its request (query-registry.ts)
      : never;

/** `Row<typeof schema.tables.x>` or `Row<typeof query>`. */
export type Row<
  T extends TableSchema | Query<any, string, any> | ((...args: any) => Query<any, string, any>),
> = T extends TableSchema
  ? {readonly [K in keyof T['columns']]: SchemaValueToTSType<T['columns'][K]>}
  : QueryRowType<T>;

export type QueryTable<Q> = Q extends Query<any, infer T, any> ? T : never;

/** The shape `run()` resolves with and views hold: an array, or row | undefined. */
export type HumanReadable<T> = undefined extends T ? Expand<T> : Expand<T>[];

export type QueryResultType<Q> = HumanReadable<QueryRowType<Q>>;

export type ExistsOptions = {flip?: boolean | undefined};

export interface Query<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
  TReturn = PullRow<TTable, TSchema>,
> {
  /** Result shape (list or single row, per relationship). */
  readonly format: Format;
  /** The complete AST in client names: frozen, PK tie-break appended to every orderBy. */
  readonly ast: AST;
  /** `{name, args}` when this query came from a synced query; kept across chaining. */
  readonly customQueryID: CustomQueryID | undefined;
  /** A stable hash of the normalised AST. */
  hash(): string;
  nameAndArgs(
    name: string,
    args: ReadonlyArray<ReadonlyJSONValue>,
  ): Query<TSchema, TTable, TReturn>;
  /** @internal Binds the query to a client or server; not part of the published types. */
  [delegateSymbol](delegate: QueryDelegate): Query<TSchema, TTable, TReturn>;

  related<TRelationship extends AvailableRelationships<TTable, TSchema>>(
    relationship: TRelationship,
  ): Query<
    TSchema,
    TTable,
    AddSubreturn<TReturn, DestRow<TTable, TSchema, TRelationship>, TRelationship>
  >;
  related<
    TRelationship extends AvailableRelationships<TTable, TSchema>,
    TSub extends Query<TSchema, string, any>,
  >(
    relationship: TRelationship,
    cb: (
      q: Query<
        TSchema,
        DestTableName<TTable, TSchema, TRelationship>,
        DestRow<TTable, TSchema, TRelationship>
      >,
    ) => TSub,
  ): Query<
    TSchema,
    TTable,
    AddSubreturn<
      TReturn,
      TSub extends Query<TSchema, string, infer TSubReturn> ? TSubReturn : never,
      TRelationship
    >
  >;

  where<
    TSelector extends NoCompoundTypeSelector<PullTableSchema<TTable, TSchema>>,
    TOperator extends SimpleOperator,
  >(
    field: TSelector,
    op: TOperator,
    value: GetFilterType<PullTableSchema<TTable, TSchema>, TSelector, TOperator>,
  ): Query<TSchema, TTable, TReturn>;
  where<TSelector extends NoCompoundTypeSelector<PullTableSchema<TTable, TSchema>>>(
    field: TSelector,
    value: GetFilterType<PullTableSchema<TTable, TSchema>, TSelector, '='>,
  ): Query<TSchema, TTable, TReturn>;
  where(expressionFactory: ExpressionFactory<TSchema, TTable>): Query<TSchema, TTable, TReturn>;

  whereExists(
    relationship: AvailableRelationships<TTable, TSchema>,
    options?: ExistsOptions,
  ): Query<TSchema, TTable, TReturn>;
  whereExists<TRelationship extends AvailableRelationships<TTable, TSchema>>(
    relationship: TRelationship,
    cb: (
      q: Query<TSchema, DestTableName<TTable, TSchema, TRelationship>>,
    ) => Query<TSchema, string, any>,
    options?: ExistsOptions,
  ): Query<TSchema, TTable, TReturn>;

  /** Starts after (or at, with `inclusive`) the given row in the query's order. */
  start(
    row: Partial<PullRow<TTable, TSchema>>,
    opts?: {inclusive: boolean},
  ): Query<TSchema, TTable, TReturn>;
  limit(limit: number): Query<TSchema, TTable, TReturn>;
  orderBy<TSelector extends Selector<PullTableSchema<TTable, TSchema>>>(
    field: TSelector,
    direction: 'asc' | 'desc',
  ): Query<TSchema, TTable, TReturn>;
  one(): Query<TSchema, TTable, TReturn | undefined>;

  materialize(ttl?: TTL): TypedView<HumanReadable<TReturn>>;
  materialize<T>(factory: ViewFactory<T>, ttl?: TTL): T;
  run(options?: RunOptions): Promise<HumanReadable<TReturn>>;
  preload(options?: PreloadOptions): {cleanup: () => void; complete: Promise<void>};
}

export type AnyQuery = Query<any, string, any>;
