// The small database surface the server helpers need: a connection that runs a callback
// in one Postgres transaction, and a transaction that answers parameterised SQL.
// The adapters for `pg` and `postgres` (postgres.js) implement it; so can an app.
import type {Queryable} from '@zync/pg';

export type Row = Record<string, unknown>;

/** One open Postgres transaction. `query` uses `$1, $2, …` placeholders. */
export interface DBTransaction<TWrapped> {
  /** The driver's own transaction object, for raw access from server mutators. */
  readonly wrappedTransaction: TWrapped;
  query(sql: string, params: readonly unknown[]): Promise<Row[]>;
}

/** Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws. */
export interface DBConnection<TWrapped> {
  transaction<T>(fn: (tx: DBTransaction<TWrapped>) => Promise<T>): Promise<T>;
}

/** The transaction as @zync/pg's `Queryable` (which answers `{rows}`). */
export function asQueryable(tx: DBTransaction<unknown>): Queryable {
  return {
    async query<R extends Row>(text: string, values: unknown[] = []): Promise<{rows: R[]}> {
      return {rows: (await tx.query(text, values)) as R[]};
    },
  };
}
