// Adapter for node-postgres (`pg`): a Pool, a PoolClient or a Client (or a connection
// string, for which a Pool is created).
import pg from 'pg';
import type {Schema} from '@zync/zql';
import type {DBConnection, DBTransaction, Row} from '../db.ts';
import {ZQLDatabase} from '../zql-database.ts';

/** What server mutators see as `tx.dbTransaction.wrappedTransaction` with this adapter. */
export type NodePgTransaction = pg.Pool | pg.PoolClient | pg.Client;

export class NodePgTransactionInternal implements DBTransaction<NodePgTransaction> {
  readonly wrappedTransaction: NodePgTransaction;

  constructor(client: NodePgTransaction) {
    this.wrappedTransaction = client;
  }

  async query(sql: string, params: readonly unknown[]): Promise<Row[]> {
    const res = await this.wrappedTransaction.query<Row>(sql, params as unknown[]);
    return res.rows;
  }
}

export class NodePgConnection implements DBConnection<NodePgTransaction> {
  readonly #pg: NodePgTransaction;

  constructor(pgClient: NodePgTransaction) {
    this.#pg = pgClient;
  }

  async transaction<T>(fn: (tx: DBTransaction<NodePgTransaction>) => Promise<T>): Promise<T> {
    const client = this.#pg instanceof pg.Pool ? await this.#pg.connect() : this.#pg;
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(new NodePgTransactionInternal(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch {
          // The connection is gone; the server rolls back on its own.
          broken = true;
        }
        throw e;
      }
    } finally {
      if (client !== this.#pg) (client as pg.PoolClient).release(broken);
    }
  }
}

/** A `ZQLDatabase` over node-postgres. */
export function zeroNodePg<S extends Schema>(
  schema: S,
  pgClient: NodePgTransaction | string,
): ZQLDatabase<S, NodePgTransaction> {
  const client =
    typeof pgClient === 'string' ? new pg.Pool({connectionString: pgClient}) : pgClient;
  return new ZQLDatabase(new NodePgConnection(client), schema);
}
