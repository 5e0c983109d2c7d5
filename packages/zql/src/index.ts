// @zync/zql: schema builders, the query builder and its AST, the permissions DSL, and
// (ivm/) the incremental query engine. Re-exports only.

// schema
export {
  boolean,
  column,
  ColumnBuilder,
  enumeration,
  json,
  number,
  string,
} from './schema/column.ts';
export type {
  SchemaValue,
  SchemaValueToTSType,
  SchemaValueWithCustomType,
  TypeNameToTypeMap,
  ValueType,
} from './schema/column.ts';
export {table, TableBuilder, TableBuilderWithColumns} from './schema/table.ts';
export type {PrimaryKey, TableSchema} from './schema/table.ts';
export {relationships} from './schema/relationships.ts';
export type {
  Cardinality,
  Connection,
  LastInTuple,
  Relationship,
  Relationships,
  RelationshipsSchema,
} from './schema/relationships.ts';
export {
  createSchema,
  legacyMutatorsEnabled,
  legacyQueriesEnabled,
  tableSchemaOf,
} from './schema/schema.ts';
export type {Schema, TableRow} from './schema/schema.ts';
export {clientToServer, mapAST, mapRow, serverToClient} from './schema/name-map.ts';
export type {NameDirection, NameMapper} from './schema/name-map.ts';

// query
export {
  and,
  cmp,
  FALSE,
  isAlwaysFalse,
  isAlwaysTrue,
  negateOperator,
  not,
  or,
  SIMPLE_OPERATORS,
  toLiteral,
  TRUE,
} from './query/condition.ts';
export {completeOrdering, deepFreeze, formatOf, hashAST, normalizeAST} from './query/ast.ts';
export {escapeLike} from './query/escape-like.ts';
export {ExpressionBuilder} from './query/expression.ts';
export type {ExpressionBuilderOptions, ExpressionFactory} from './query/expression.ts';
export {delegateSymbol} from './query/delegate.ts';
export type {
  AnyQueryLike,
  CustomQueryID,
  Format,
  Listener,
  MaterializeOptions,
  PreloadOptions,
  QueryDelegate,
  QueryErrorDetails,
  ResultType,
  RunOptions,
  TTL,
  TypedView,
  ViewFactory,
} from './query/delegate.ts';
export {
  createBuilder,
  customQueryHash,
  EXISTS_ALIAS_PREFIX,
  newQuery,
  QueryImpl,
  withDelegate,
} from './query/query-impl.ts';
export type {SchemaQuery} from './query/query-impl.ts';
export type {
  AnyQuery,
  AvailableRelationships,
  DestTableName,
  ExistsOptions,
  GetFilterType,
  HumanReadable,
  NoCompoundTypeSelector,
  PullRow,
  Query,
  QueryResultType,
  QueryRowType,
  QueryTable,
  Row,
} from './query/query.ts';
export {syncedQuery, syncedQueryWithContext, withValidation} from './query/named.ts';
export type {HasParseFn, ParseFn, Parser, QueryFn, SyncedQuery} from './query/named.ts';
export {
  defineQueries,
  defineQuery,
  getQuery,
  isQuery,
  isQueryDefinition,
  isQueryRegistry,
  isQueryRequest,
  mustGetQuery,
  toQuery,
} from './query/query-registry.ts';
export type {
  AnyCustomQuery,
  AnyQueryDefinition,
  AnyQueryRegistry,
  AnyQueryRequest,
  CustomQuery,
  QueryDefinition,
  QueryDefinitionFunction,
  QueryDefinitions,
  QueryRegistry,
  QueryRequest,
} from './query/query-registry.ts';
export {InputValidationError, isStandardSchema, validateInput} from './query/standard-schema.ts';
export type {
  StandardSchemaIssue,
  StandardSchemaResult,
  StandardSchemaV1,
} from './query/standard-schema.ts';
export type {DefaultContext, DefaultSchema, DefaultTypes, IsUnknown} from './default-types.ts';

// mutators
export type {DeleteID, InsertValue, UpdateValue} from './mutate/row-types.ts';
export type {SchemaMutators, TableMutators, Transaction} from './mutate/transaction.ts';
export {
  defineMutator,
  defineMutators,
  getMutator,
  isMutateRequest,
  isMutator,
  isMutatorDefinition,
  isMutatorRegistry,
  iterateMutators,
  mustGetMutator,
} from './mutate/mutator-registry.ts';
export type {
  AnyMutateRequest,
  AnyMutator,
  AnyMutatorDefinition,
  AnyMutatorRegistry,
  MutateRequest,
  Mutator,
  MutatorDefinition,
  MutatorDefinitionFunction,
  MutatorDefinitions,
  MutatorRegistry,
} from './mutate/mutator-registry.ts';

// permissions
export {
  ANYONE_CAN,
  ANYONE_CAN_DO_ANYTHING,
  definePermissions,
  NOBODY_CAN,
} from './permissions/define.ts';
export type {
  AlwaysBuilder,
  AssetPermissions,
  DefinedPermissions,
  PermissionRule,
  PermissionsConfig,
  StoredCellPermissions,
  StoredPolicy,
  StoredRowPermissions,
  StoredRule,
} from './permissions/define.ts';
export {bindPermissions, foldCondition} from './permissions/bind.ts';
export type {BindOptions, BoundPermissions, PermissionAction} from './permissions/bind.ts';
export {applySelectPermissions} from './permissions/apply.ts';
export {columnReferences} from './permissions/column-refs.ts';
export type {ColumnReference} from './permissions/column-refs.ts';
export type {ApplyOptions} from './permissions/apply.ts';
export {compareValues, evaluateCondition} from './permissions/evaluate.ts';
export {likeMatcher, likeMatches} from './ivm/like.ts';
export type {ExistsResolver, RowValues} from './permissions/evaluate.ts';

// ivm exports (added by the engine's author)
