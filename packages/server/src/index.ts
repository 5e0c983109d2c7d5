// @zync/server: helpers for the app's API server. Re-exports only.
export {NodePgConnection, NodePgTransactionInternal, zeroNodePg} from './adapters/node-pg.ts';
export type {NodePgTransaction} from './adapters/node-pg.ts';
export {
  PostgresJSConnection,
  PostgresJsTransactionInternal,
  zeroPostgresJS,
} from './adapters/postgres-js.ts';
export type {PostgresJsTransaction} from './adapters/postgres-js.ts';
export type {InsertValue, SchemaCRUD, TableCRUD, UpdateValue, DeleteID} from './crud.ts';
export type {DBConnection, DBTransaction, Row} from './db.ts';
export {ServerError} from './errors.ts';
export type {ServerErrorKind} from './errors.ts';
export {handleGetQueriesRequest} from './get-queries.ts';
export type {
  GetQueriesRequestItem,
  GetQueriesResponse,
  QueryError,
  TransformedQuery,
} from './get-queries.ts';
export {handleMutateRequest} from './mutate-request.ts';
export type {
  CustomMutation,
  HandleMutateRequestArgs,
  MutateRequestHandler,
  MutateResponse,
  MutateSearchParams,
  PushFailedReason,
  TransactFn,
  TransactFnCallback,
} from './mutate-request.ts';
export {handleQueryRequest} from './query-request.ts';
export type {
  HandleQueryRequestArgs,
  QueryRequestHandler,
  QueryResponse,
  QueryResultEntry,
  QuerySearchParams,
  TransformQueryFunction,
} from './query-request.ts';
// The last-mutation-id table's DDL (shared with zero-cache) and an app's schema name.
export {clientsTableDDL} from '@zync/pg';
export {upstreamSchemaOf} from './push-request.ts';
export {PushProcessor} from './push-processor.ts';
export type {CustomMutatorDefs, CustomMutatorImpl, PushProcessorOptions} from './push-processor.ts';
export {parsePushBody, PUSH_VERSION} from './push-request.ts';
export type {
  MutationError,
  MutationID,
  MutationOk,
  MutationResponse,
  MutationResult,
  PushError,
  PushMutation,
  PushOk,
  PushRequestBody,
  PushResponse,
} from './push-request.ts';
export {TransactionImpl} from './transaction.ts';
export type {ServerTransaction} from './transaction.ts';
export {ZQLDatabase} from './zql-database.ts';
export type {
  Database,
  ExtractTransactionType,
  TransactionProviderHooks,
  TransactionProviderInput,
} from './zql-database.ts';
