// @zync/pg: the Postgres layer under zero-cache and the API-server helpers. Re-exports only.
export {PgCatalog, readTable} from './catalog.ts';
export type {PgCatalogOptions, PgColumn, PgTable, TableLookup} from './catalog.ts';
export {
  bumpLastMutationIDSql,
  CLIENTS_TABLE,
  clientsTableDDL,
  ensureClientsTable,
  lastMutationIDsOf,
  lockLastMutationIDsSql,
  writeLastMutationIDsSql,
} from './clients.ts';
export {deleteSql, insertSql, selectByKeySql, updateSql} from './crud-sql.ts';
export type {WriteValues} from './crud-sql.ts';
export {PgLayerError} from './errors.ts';
export type {PgLayerErrorKind} from './errors.ts';
export {isArrayType, isTimeType, kindOfType} from './pg-types.ts';
export type {ValueKind} from './pg-types.ts';
export {isValidAppID, shardNames} from './shard-names.ts';
export type {ShardNames} from './shard-names.ts';
export {
  empty,
  ident,
  inlineSql,
  inlineStatements,
  join,
  quoteLiteral,
  raw,
  run,
  Sql,
  sql,
} from './sql.ts';
export type {Queryable, Row} from './sql.ts';
export {fromPgRow, readExpr, selectList, writeExpr} from './values.ts';
// Identifiers are quoted by @zync/shared's `quoteIdent`; offered here beside the rest.
export {quoteIdent} from '@zync/shared';
