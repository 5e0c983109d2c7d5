// The app's tables (client names, as in its ZQL schema) as Postgres describes them: the
// schema's `.from()` server names looked up in @zync/pg's catalog, once per table.
import {PgCatalog, type PgTable} from '@zync/pg';
import type {Schema} from '@zync/zql';
import {asQueryable, type DBTransaction} from './db.ts';
import {ServerError} from './errors.ts';

/** `schema.table` server names are honoured; a bare name is in `public`. */
export function splitTableName(serverName: string): [schema: string, table: string] {
  const dot = serverName.indexOf('.');
  return dot < 0 ? ['public', serverName] : [serverName.slice(0, dot), serverName.slice(dot + 1)];
}

export class SchemaCatalog {
  readonly #pg = new PgCatalog();
  readonly #schema: Schema;

  constructor(schema: Schema) {
    this.#schema = schema;
  }

  get schema(): Schema {
    return this.#schema;
  }

  /** The Postgres table behind the app's table `table` (client name). */
  async table(tx: DBTransaction<unknown>, table: string): Promise<PgTable> {
    const [nsp, rel, serverName] = this.#serverName(table);
    const found = await this.#pg.table(asQueryable(tx), rel, {schema: nsp});
    if (!found) {
      throw new ServerError('schema', `table "${serverName}" does not exist in the database`);
    }
    return found;
  }

  /** Describes every table named (client names). */
  async tables(tx: DBTransaction<unknown>, names: Iterable<string>): Promise<void> {
    for (const n of names) await this.table(tx, n);
  }

  /** Synchronous lookup of a table already loaded by `table()`/`tables()`. */
  loaded(table: string): PgTable {
    const [nsp, rel] = this.#serverName(table);
    const found = this.#pg.cached(rel, nsp);
    if (!found) throw new ServerError('schema', `unknown table "${table}"`);
    return found;
  }

  #serverName(table: string): [schema: string, table: string, serverName: string] {
    const ts = this.#schema.tables[table];
    if (!ts) throw new ServerError('schema', `unknown table "${table}"`);
    const serverName = ts.serverName ?? table;
    return [...splitTableName(serverName), serverName];
  }
}
