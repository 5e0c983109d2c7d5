// Adapter for node-postgres (`pg`): a Pool, a PoolClient or a Client (or a connection
// string, for which a Pool is created).
import type pg from 'pg';
import type {Schema} from '@zync/zql';
import type {DBConnection, DBTransaction, Row} from '../db.ts';
import {ZQLDatabase} from '../zql-database.ts';
import {loadDriver} from './load-driver.ts';

/** What server mutators see as `tx.dbTransaction.wrappedTransaction` with this adapter. */
export type NodePgTransaction = pg.Pool | pg.PoolClient | pg.Client;

export class NodePgTransactionInternal implements DBTransaction<NodePgTransaction> {
  readonly #client: NodePgTransaction;
  /** BEGIN is still to be sent: it goes with the first query (see NodePgConnection). */
  #beginPending: boolean;

  constructor(client: NodePgTransaction, deferBegin = false) {
    this.#client = client;
    this.#beginPending = deferBegin;
  }

  get wrappedTransaction(): NodePgTransaction {
    // Raw queries must run inside the transaction: node-postgres sends a client's queries
    // in the order they were made, so queueing BEGIN now puts it before them.
    if (this.#beginPending) {
      this.#beginPending = false;
      this.#client.query('BEGIN').catch(() => {}); // a failure shows in the next query
    }
    return this.#client;
  }

  /** Whether BEGIN was sent (a transaction that made no query has nothing to end). */
  get begun(): boolean {
    return !this.#beginPending;
  }

  async query(sql: string, params: readonly unknown[]): Promise<Row[]> {
    if (this.#beginPending) {
      this.#beginPending = false;
      if (params.length === 0) {
        // A query without parameters goes as a simple query anyway: BEGIN joins it, which
        // saves a round trip per transaction.
        const res = (await this.#client.query(`BEGIN; ${sql}`)) as unknown as pg.QueryResult[];
        const rest = res.slice(1);
        return (
          rest.length === 1 ? rest[0]!.rows : (rest as unknown as {rows: Row[]}).rows
        ) as Row[];
      }
      await this.#client.query('BEGIN');
    }
    const res = await this.#client.query<Row>(sql, params as unknown[]);
    return res.rows;
  }
}

export class NodePgConnection implements DBConnection<NodePgTransaction> {
  readonly #pg: NodePgTransaction;

  constructor(pgClient: NodePgTransaction) {
    this.#pg = pgClient;
  }

  async transaction<T>(fn: (tx: DBTransaction<NodePgTransaction>) => Promise<T>): Promise<T> {
    const client = isPool(this.#pg) ? await this.#pg.connect() : this.#pg;
    let broken = false;
    const tx = new NodePgTransactionInternal(client, true);
    try {
      try {
        const result = await fn(tx);
        if (tx.begun) await client.query('COMMIT');
        return result;
      } catch (e) {
        try {
          if (tx.begun) await client.query('ROLLBACK');
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
    typeof pgClient === 'string'
      ? new (loadDriver<typeof pg>('pg', 'zeroNodePg').Pool)({connectionString: pgClient})
      : pgClient;
  return new ZQLDatabase(new NodePgConnection(client), schema);
}

/** A Pool hands out clients; a Client or PoolClient is one. (No `instanceof`: the app's `pg`
 * may be another copy than the one this package would load.) */
function isPool(c: NodePgTransaction): c is pg.Pool {
  return 'totalCount' in c && 'idleCount' in c;
}
