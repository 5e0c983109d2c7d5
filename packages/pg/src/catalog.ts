// What upstream Postgres says about a table: its columns with their types and its primary
// key, read from the system catalog (the tables written are upstream's, so upstream is the
// authority, not the replica or the app's schema). `PgCatalog` keeps what it read; a caller
// that meets a column the cached copy does not know can ask for a fresh read.
import {quoteIdent} from '@zync/shared';
import {run, sql, type Queryable} from './sql.ts';

export interface PgColumn {
  readonly name: string;
  /** `pg_type.typname` with a domain resolved to its base type; arrays start with `_`. */
  readonly typname: string;
  /**
   * The column's declared type as SQL, without modifiers (`character varying`, `integer[]`,
   * a domain's name): what a written value is cast to. Modifiers are left to the column
   * itself, so that a value too long for `varchar(n)` is refused instead of cut.
   */
  readonly sqlType: string;
}

export interface PgTable {
  readonly schema: string;
  readonly name: string;
  /** `"schema"."name"`, for SQL. */
  readonly sqlName: string;
  /** An ordinary or partitioned table (not a view, foreign table, …). */
  readonly isTable: boolean;
  /** In column order. */
  readonly columns: ReadonlyMap<string, PgColumn>;
  /** Column names in key order; empty when the table has no primary key. */
  readonly primaryKey: readonly string[];
}

type CatalogRow = {
  kind: string;
  name: string;
  typname: string;
  sql_type: string;
  pk: number | null;
};

/** The relation `schema.name` as the catalog describes it; undefined when there is none. */
export async function readTable(
  db: Queryable,
  schema: string,
  name: string,
): Promise<PgTable | undefined> {
  // format_type with typmod -1 (given, not NULL) names the type without modifiers and
  // never as a synonym that implies one (`bpchar`, `"bit"`).
  const rows = await run<CatalogRow>(
    db,
    sql`SELECT c.relkind::text AS kind, a.attname AS name,
          CASE WHEN t.typtype = 'd' THEN b.typname ELSE t.typname END AS typname,
          format_type(a.atttypid, -1) AS sql_type,
          array_position(i.indkey::int2[], a.attnum) AS pk
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_type b ON b.oid = t.typbasetype
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE n.nspname = ${schema}::text AND c.relname = ${name}::text
        ORDER BY a.attnum`,
  );
  const first = rows[0];
  if (!first) return undefined;
  const columns = new Map<string, PgColumn>();
  const key: [number, string][] = [];
  for (const r of rows) {
    columns.set(r.name, {name: r.name, typname: r.typname, sqlType: r.sql_type});
    if (r.pk !== null) key.push([Number(r.pk), r.name]);
  }
  return {
    schema,
    name,
    sqlName: `${quoteIdent(schema)}.${quoteIdent(name)}`,
    isTable: first.kind === 'r' || first.kind === 'p',
    columns,
    primaryKey: key.sort((a, b) => a[0] - b[0]).map(([, c]) => c),
  };
}

export type PgCatalogOptions = {
  /** Only ordinary and partitioned tables are found (views and the like are not). */
  readonly tablesOnly?: boolean | undefined;
};

export type TableLookup = {
  /** Default `public`. */
  readonly schema?: string | undefined;
  /** Read the catalog again even when the table is known (its shape may have changed). */
  readonly refresh?: boolean | undefined;
};

/** A cache of `readTable` answers, one per process and database. */
export class PgCatalog {
  readonly #tables = new Map<string, PgTable>();
  readonly #tablesOnly: boolean;

  constructor(options: PgCatalogOptions = {}) {
    this.#tablesOnly = options.tablesOnly ?? false;
  }

  /** The table, or undefined when upstream has none of that name (in that schema). */
  async table(db: Queryable, name: string, lookup: TableLookup = {}): Promise<PgTable | undefined> {
    const schema = lookup.schema ?? 'public';
    const k = key(schema, name);
    let table = lookup.refresh ? undefined : this.#tables.get(k);
    if (!table) {
      table = await readTable(db, schema, name);
      if (table) this.#tables.set(k, table);
      else this.#tables.delete(k);
    }
    return this.#found(table);
  }

  /** A table already read by `table()`, without asking Postgres. */
  cached(name: string, schema = 'public'): PgTable | undefined {
    return this.#found(this.#tables.get(key(schema, name)));
  }

  #found(table: PgTable | undefined): PgTable | undefined {
    return table && (table.isTable || !this.#tablesOnly) ? table : undefined;
  }
}

// Postgres names cannot hold NUL, so it separates the two parts unambiguously.
const key = (schema: string, name: string) => `${schema}\u0000${name}`;
