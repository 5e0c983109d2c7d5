// The `tx` a server mutator receives: `mutate`, `query` (ZQL on Postgres), `location`,
// `reason`, `clientID`, `mutationID` and the raw `dbTransaction`.
import type {AST} from '@zync/protocol';
import {
  createBuilder,
  type AnyQueryLike,
  type QueryDelegate,
  type Schema,
  type SchemaQuery,
} from '@zync/zql';
import {makeSchemaCRUD, type SchemaCRUD} from './crud.ts';
import type {DBTransaction, Row} from './db.ts';
import type {SchemaCatalog} from './schema-catalog.ts';
import {runQuery} from './run-query.ts';

export interface ServerTransaction<S extends Schema, TWrapped> {
  readonly location: 'server';
  readonly reason: 'authoritative';
  readonly clientID: string;
  readonly mutationID: number;
  readonly mutate: SchemaCRUD<S>;
  readonly query: SchemaQuery<S>;
  readonly dbTransaction: DBTransaction<TWrapped>;
  /**
   * Runs a query (e.g. from `createBuilder(schema)`, as shared mutators call `tx.run`) or
   * its AST (client names); returns rows shaped like the client's views.
   */
  run(query: AST | {readonly ast: AST}): Promise<Row[] | Row | undefined>;
}

export class TransactionImpl<S extends Schema, TWrapped> implements ServerTransaction<S, TWrapped> {
  readonly location = 'server' as const;
  readonly reason = 'authoritative' as const;
  readonly clientID: string;
  readonly mutationID: number;
  readonly mutate: SchemaCRUD<S>;
  readonly query: SchemaQuery<S>;
  readonly dbTransaction: DBTransaction<TWrapped>;
  readonly #catalog: SchemaCatalog;

  constructor(
    dbTransaction: DBTransaction<TWrapped>,
    schema: S,
    catalog: SchemaCatalog,
    clientID: string,
    mutationID: number,
  ) {
    this.dbTransaction = dbTransaction;
    this.clientID = clientID;
    this.mutationID = mutationID;
    this.#catalog = catalog;
    this.mutate = makeSchemaCRUD(schema, catalog, dbTransaction);
    this.query = createBuilder(schema, serverDelegate(this));
  }

  run(query: AST | {readonly ast: AST}): Promise<Row[] | Row | undefined> {
    // A query object carries its AST; an AST itself has `table` and no `ast`.
    const ast = 'ast' in query ? query.ast : query;
    return runQuery(this.dbTransaction, this.#catalog, ast);
  }
}

function serverDelegate(tx: {run(ast: AST): Promise<unknown>}): QueryDelegate {
  return {
    run: (query: AnyQueryLike) => tx.run(query.ast),
    materialize() {
      throw new TypeError('materialize() is not available on the server; use run()');
    },
    preload: () => ({cleanup: () => {}, complete: Promise.resolve()}),
  };
}
