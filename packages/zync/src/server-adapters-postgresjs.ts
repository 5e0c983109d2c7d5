// zync/server/adapters/postgresjs: the postgres.js (`postgres`) adapter for the API server
// helpers.
export {PostgresJSConnection, PostgresJsTransactionInternal, zeroPostgresJS} from '@zync/server';
export type {PostgresJsTransaction, ZQLDatabase} from '@zync/server';
