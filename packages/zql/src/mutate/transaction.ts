// The transaction type app mutators are written against. The same mutator code runs on the
// client (optimistically, `location: 'client'`) and on the app's API server
// (`location: 'server'`), so its type names what both provide.
/* eslint-disable @typescript-eslint/no-explicit-any -- see query/query.ts */
import type {RunOptions} from '../query/delegate.ts';
import type {SchemaQuery} from '../query/query-impl.ts';
import type {Query, QueryResultType} from '../query/query.ts';
import type {Schema} from '../schema/schema.ts';
import type {DeleteID, InsertValue, UpdateValue} from './row-types.ts';

export type TableMutators<T extends Schema['tables'][string]> = {
  insert(value: InsertValue<T>): Promise<void>;
  upsert(value: InsertValue<T>): Promise<void>;
  update(value: UpdateValue<T>): Promise<void>;
  delete(id: DeleteID<T>): Promise<void>;
};

export type SchemaMutators<S extends Schema> = {
  readonly [T in keyof S['tables'] & string]: TableMutators<S['tables'][T]>;
};

export type Transaction<S extends Schema, TWrappedTransaction = unknown> = {
  readonly location: 'client' | 'server';
  readonly reason: 'optimistic' | 'rebase' | 'authoritative';
  readonly clientID: string;
  readonly mutationID: number;
  readonly mutate: SchemaMutators<S>;
  readonly query: SchemaQuery<S>;
  /** Runs a query (e.g. from `createBuilder(schema)`) inside the transaction. */
  run<Q extends Query<any, string, any>>(
    query: Q,
    options?: RunOptions,
  ): Promise<QueryResultType<Q>>;
  /** Only on the server: the database transaction the mutator runs in. */
  readonly dbTransaction?: {readonly wrappedTransaction: TWrappedTransaction} | undefined;
};
