// `ZQLDatabase`: a Postgres connection plus the app's schema. `transaction(fn, input?)`
// gives `fn` a server transaction and, when `input` names a client and mutation, hooks to
// bump that client's last mutation id in the same transaction.
import type {Schema} from '@zync/zql';
import type {DBConnection} from './db.ts';
import {ServerError} from './errors.ts';
import {bumpLastMutationID, ensureClientsTable} from './lmid.ts';
import {PgCatalog} from './pg-columns.ts';
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
  readonly #catalog: PgCatalog;
  readonly #ensured = new Map<string, Promise<void>>();

  constructor(connection: DBConnection<TWrapped>, schema: S) {
    this.connection = connection;
    this.schema = schema;
    this.#catalog = new PgCatalog(schema);
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
          const lastMutationID = await bumpLastMutationID(
            dbTx,
            input.upstreamSchema,
            input.clientGroupID,
            input.clientID,
          );
          return {lastMutationID};
        },
      };
      return callback(tx, hooks);
    });
  }

  #ensure(upstreamSchema: string): Promise<void> {
    let p = this.#ensured.get(upstreamSchema);
    if (!p) {
      p = ensureClientsTable(this.connection, upstreamSchema);
      this.#ensured.set(upstreamSchema, p);
      p.catch(() => this.#ensured.delete(upstreamSchema));
    }
    return p;
  }
}
