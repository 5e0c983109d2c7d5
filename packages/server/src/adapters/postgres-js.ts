// Adapter for postgres.js (`postgres`): a `Sql` instance or a connection string.
import type postgres from 'postgres';
import {loadDriver} from './load-driver.ts';
import type {Schema} from '@zync/zql';
import type {DBConnection, DBTransaction, Row} from '../db.ts';
import {ZQLDatabase} from '../zql-database.ts';

/** What server mutators see as `tx.dbTransaction.wrappedTransaction` with this adapter. */
export type PostgresJsTransaction<T extends Record<string, unknown> = Record<string, unknown>> =
  postgres.TransactionSql<T>;

export class PostgresJsTransactionInternal<
  T extends Record<string, unknown>,
> implements DBTransaction<PostgresJsTransaction<T>> {
  readonly wrappedTransaction: PostgresJsTransaction<T>;

  constructor(pgTx: PostgresJsTransaction<T>) {
    this.wrappedTransaction = pgTx;
  }

  async query(sql: string, params: readonly unknown[]): Promise<Row[]> {
    const rows = await this.wrappedTransaction.unsafe(
      sql,
      params as postgres.ParameterOrJSON<never>[],
    );
    return [...rows] as Row[];
  }
}

export class PostgresJSConnection<T extends Record<string, unknown>> implements DBConnection<
  PostgresJsTransaction<T>
> {
  readonly #sql: postgres.Sql<T>;

  constructor(sql: postgres.Sql<T>) {
    this.#sql = sql;
  }

  async transaction<R>(
    fn: (tx: DBTransaction<PostgresJsTransaction<T>>) => Promise<R>,
  ): Promise<R> {
    const result = await this.#sql.begin(tx => fn(new PostgresJsTransactionInternal(tx)));
    return result as R;
  }
}

/** A `ZQLDatabase` over postgres.js. */
export function zeroPostgresJS<
  S extends Schema,
  T extends Record<string, unknown> = Record<string, unknown>,
>(schema: S, sql: postgres.Sql<T> | string): ZQLDatabase<S, PostgresJsTransaction<T>> {
  const client =
    typeof sql === 'string'
      ? (loadDriver<typeof postgres>(
          'postgres',
          'zeroPostgresJS',
        )(sql) as unknown as postgres.Sql<T>)
      : sql;
  return new ZQLDatabase(new PostgresJSConnection(client), schema);
}
