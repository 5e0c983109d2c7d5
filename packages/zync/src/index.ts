// zync: the public API (Zero-compatible). Browser-safe: nothing here imports Node modules.
export {dropAllDatabases, dropDatabase, Zero} from '@zync/client';
export type {
  AuthOption,
  ConnectionState,
  ConnectionStateName,
  Read,
  Store,
  StoreProvider,
  Write,
  ZeroOptions,
} from '@zync/client';
export {
  ANYONE_CAN,
  ANYONE_CAN_DO_ANYTHING,
  boolean,
  createBuilder,
  createSchema,
  definePermissions,
  enumeration,
  escapeLike,
  json,
  NOBODY_CAN,
  number,
  relationships,
  string,
  syncedQuery,
  syncedQueryWithContext,
  table,
  withValidation,
} from '@zync/zql';
export type {
  AnyQuery,
  ExpressionBuilder,
  HumanReadable,
  PermissionsConfig,
  Query,
  QueryResultType,
  QueryRowType,
  ResultType,
  Row,
  Schema,
  TableSchema,
  TTL,
  TypedView,
} from '@zync/zql';
export type {ReadonlyJSONValue} from '@zync/shared';
