// What Postgres says about the app's tables: each column's type, so that values are
// written and read the way the client expects (timestamps as epoch ms, arrays and json as
// JSON, bigint/numeric as numbers). Looked up once per table and kept.
import type {Schema} from '@zync/zql';
import type {DBTransaction} from './db.ts';
import {ServerError} from './errors.ts';
import {quoteIdent} from '@zync/shared';

export type PgColumn = {
  /** `format_type()`, usable in a cast: `integer`, `text[]`, `timestamp with time zone`. */
  readonly fmt: string;
  /** `pg_type.typname` of the column's type (`_int4` for `integer[]`). */
  readonly typname: string;
  /** `pg_type.typcategory`: `A` for arrays. */
  readonly category: string;
};

export type PgTable = {
  /** Quoted, schema-qualified name for SQL. */
  readonly sqlName: string;
  /** Server column name → Postgres type. */
  readonly columns: ReadonlyMap<string, PgColumn>;
};

const COLUMNS_SQL = `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS fmt,
    t.typname AS typname, t.typcategory AS category
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  WHERE n.nspname = $1::text AND c.relname = $2::text AND a.attnum > 0 AND NOT a.attisdropped`;

export {quoteIdent};

/** `schema.table` server names are honoured; a bare name is in `public`. */
export function splitTableName(serverName: string): [schema: string, table: string] {
  const dot = serverName.indexOf('.');
  return dot < 0 ? ['public', serverName] : [serverName.slice(0, dot), serverName.slice(dot + 1)];
}

/** Per-database cache of table descriptions, keyed by server table name. */
export class PgCatalog {
  readonly #tables = new Map<string, PgTable>();
  readonly #schema: Schema;

  constructor(schema: Schema) {
    this.#schema = schema;
  }

  get schema(): Schema {
    return this.#schema;
  }

  /** The Postgres description of the app's table `table` (client name). */
  async table(tx: DBTransaction<unknown>, table: string): Promise<PgTable> {
    const ts = this.#schema.tables[table];
    if (!ts) throw new ServerError('schema', `unknown table "${table}"`);
    const serverName = ts.serverName ?? table;
    const known = this.#tables.get(serverName);
    if (known) return known;
    const [nsp, rel] = splitTableName(serverName);
    const rows = await tx.query(COLUMNS_SQL, [nsp, rel]);
    if (rows.length === 0) {
      throw new ServerError('schema', `table "${serverName}" does not exist in the database`);
    }
    const columns = new Map<string, PgColumn>();
    for (const r of rows) {
      columns.set(String(r['name']), {
        fmt: String(r['fmt']),
        typname: String(r['typname']),
        category: String(r['category']),
      });
    }
    const desc = {sqlName: `${quoteIdent(nsp)}.${quoteIdent(rel)}`, columns};
    this.#tables.set(serverName, desc);
    return desc;
  }

  /** Describes `table` and every table its query AST (client names) reaches. */
  async tables(tx: DBTransaction<unknown>, names: Iterable<string>): Promise<void> {
    for (const n of names) await this.table(tx, n);
  }

  /** Synchronous lookup of a table already loaded by `table()`/`tables()`. */
  loaded(table: string): PgTable {
    const ts = this.#schema.tables[table];
    const desc = ts && this.#tables.get(ts.serverName ?? table);
    if (!desc) throw new ServerError('schema', `unknown table "${table}"`);
    return desc;
  }
}

const TIME_TYPES = new Set(['timestamptz', 'timestamp', 'date']);
const TO_FLOAT_TYPES = new Set(['int8', 'numeric']);

/** The SQL expression that reads `ref` (a qualified column) as the client's JSON value. */
export function readExpr(ref: string, col: PgColumn | undefined): string {
  if (!col) return ref;
  if (col.category === 'A') return `to_jsonb(${ref})`;
  if (TIME_TYPES.has(col.typname)) return `(EXTRACT(EPOCH FROM ${ref}) * 1000)::float8`;
  if (TO_FLOAT_TYPES.has(col.typname)) return `${ref}::float8`;
  return ref;
}

/**
 * The SQL expression that writes `value` into a column of type `col`, pushing its
 * parameter onto `params`. Every parameter is sent as text (or NULL) and cast in SQL, so
 * pg and postgres.js behave the same.
 */
export function writeExpr(value: unknown, col: PgColumn, params: unknown[]): string {
  if (value === null || value === undefined) return 'NULL';
  // `::text` first: postgres.js types parameters from the statement and would otherwise
  // JSON-encode a string bound to a jsonb parameter.
  const p = (v: string): string => {
    params.push(v);
    return `$${params.length}::text`;
  };
  if (col.typname === 'json' || col.typname === 'jsonb') {
    return `${p(JSON.stringify(value))}::${col.typname}`;
  }
  if (col.category === 'A') {
    if (!Array.isArray(value)) {
      throw new TypeError('an array column needs a JSON array');
    }
    // Elements that are objects come out as their JSON text (for json[] columns).
    return `ARRAY(SELECT jsonb_array_elements_text(${p(JSON.stringify(value))}::jsonb))::${col.fmt}`;
  }
  if (TIME_TYPES.has(col.typname) && typeof value === 'number') {
    const ts = `to_timestamp(${p(String(value))}::float8 / 1000)`;
    if (col.typname === 'timestamptz') return ts;
    if (col.typname === 'timestamp') return `(${ts} AT TIME ZONE 'UTC')`;
    return `(${ts} AT TIME ZONE 'UTC')::date`;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new TypeError('only json and array columns take objects or arrays');
  }
  return `${p(String(value))}::${col.fmt}`;
}
