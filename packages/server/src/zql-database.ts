// `ZQLDatabase`: a Postgres connection plus the app's schema. `transaction(fn, input?)`
// gives `fn` a server transaction and, when `input` names a client and mutation, hooks to
// bump that client's last mutation id in the same transaction.
import {bumpLastMutationIDSql, ensureClientsTable, inlineSql, PgLayerError} from '@zync/pg';
import type {Schema} from '@zync/zql';
import type {DBConnection, DBTransaction} from './db.ts';
import {ServerError} from './errors.ts';
import {SchemaCatalog} from './schema-catalog.ts';
import {TransactionImpl} from './transaction.ts';

export interface TransactionProviderInput {
  /** The schema holding the `clients` table: `zync_<appID>`. */
  readonly upstreamSchema: string;
  readonly clientGroupID: string;
  readonly clientID: string;
  readonly mutationID: number;
}

export interface TransactionProviderHooks {
  /** Increments the client's last mutation id in this transaction; returns the new value. */
  updateClientMutationID(): Promise<{lastMutationID: number | bigint}>;
}

/** What PushProcessor needs of a database; ZQLDatabase is the Postgres one. */
export interface Database<T> {
  transaction<R>(
    callback: (tx: T, hooks: TransactionProviderHooks) => Promise<R>,
    input?: TransactionProviderInput,
  ): Promise<R>;
}

export type ExtractTransactionType<D> = D extends Database<infer T> ? T : never;

export class ZQLDatabase<S extends Schema, TWrapped> implements Database<
  TransactionImpl<S, TWrapped>
> {
  readonly connection: DBConnection<TWrapped>;
  readonly schema: S;
  readonly #catalog: SchemaCatalog;
  readonly #ensured = new Map<string, Promise<void>>();

  constructor(connection: DBConnection<TWrapped>, schema: S) {
    this.connection = connection;
    this.schema = schema;
    this.#catalog = new SchemaCatalog(schema);
  }

  async transaction<R>(
    callback: (tx: TransactionImpl<S, TWrapped>, hooks: TransactionProviderHooks) => Promise<R>,
    input?: TransactionProviderInput,
  ): Promise<R> {
    if (input) await this.#ensure(input.upstreamSchema);
    return this.connection.transaction(dbTx => {
      const tx = new TransactionImpl(
        dbTx,
        this.schema,
        this.#catalog,
        input?.clientID ?? '',
        input?.mutationID ?? 0,
      );
      const hooks: TransactionProviderHooks = {
        async updateClientMutationID() {
          if (!input) {
            throw new ServerError('invalidRequest', 'this transaction has no client to update');
          }
          return {lastMutationID: await bumpLastMutationID(dbTx, input)};
        },
      };
      return callback(tx, hooks);
    });
  }

  #ensure(upstreamSchema: string): Promise<void> {
    let p = this.#ensured.get(upstreamSchema);
    if (!p) {
      p = createClientsTable(this.connection, upstreamSchema);
      this.#ensured.set(upstreamSchema, p);
      p.catch(() => this.#ensured.delete(upstreamSchema));
    }
    return p;
  }
}

/** Creates the last-mutation-id table if missing; safe to race with other processes. */
async function createClientsTable(conn: DBConnection<unknown>, upstreamSchema: string) {
  try {
    await ensureClientsTable(upstreamSchema, statement =>
      conn.transaction(tx => tx.query(statement, [])),
    );
  } catch (e) {
    throw new ServerError('database', 'could not create the last-mutation-id table', {cause: e});
  }
}

/**
 * Increments the client's last mutation id (creating its row at 1) and returns the new
 * value; the row stays locked until the transaction ends. The statement goes with literal
 * ids and no parameters: it is the transaction's first, which an adapter can then send
 * together with BEGIN (one round trip less per mutation).
 */
async function bumpLastMutationID(
  tx: DBTransaction<unknown>,
  input: TransactionProviderInput,
): Promise<number> {
  let statement: string;
  try {
    statement = inlineSql(
      bumpLastMutationIDSql(input.upstreamSchema, input.clientGroupID, input.clientID),
    );
  } catch (e) {
    if (e instanceof PgLayerError) {
      throw new ServerError('invalidRequest', 'an id contains a NUL character', {cause: e});
    }
    throw e;
  }
  const rows = await tx.query(statement, []);
  return Number(rows[0]?.['lmid']);
}
