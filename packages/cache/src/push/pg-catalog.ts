// What the push path knows about upstream tables: columns with their types and the primary
// key, read from Postgres's own catalog (the tables written are upstream's, so upstream is
// the authority, not the replica). Loaded per table on first use and re-read once when a
// write names a column that the cached copy does not know (the schema may have changed).
import type pg from 'pg';

export interface PgColumn {
  readonly name: string;
  /** Type name as in `pg_type.typname` (domains resolved; arrays start with `_`). */
  readonly pgType: string;
}

export interface PgTable {
  readonly name: string;
  readonly columns: ReadonlyMap<string, PgColumn>;
  readonly primaryKey: readonly string[];
}

/** Something that runs a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

const COLUMNS_QUERY = `
  SELECT c.oid::int AS oid, a.attname AS name,
         CASE WHEN t.typtype = 'd' THEN b.typname ELSE t.typname END AS type
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type b ON b.oid = t.typbasetype
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = $1
  ORDER BY a.attnum`;

const PRIMARY_KEY_QUERY = `
  SELECT a.attname AS name
  FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
  WHERE i.indrelid = $1 AND i.indisprimary
  ORDER BY array_position(i.indkey::int2[], a.attnum)`;

export class PgCatalog {
  readonly #tables = new Map<string, PgTable>();

  /** The table, or undefined when upstream has no such table in `public`. */
  async table(db: Queryable, name: string, refresh = false): Promise<PgTable | undefined> {
    if (!refresh) {
      const hit = this.#tables.get(name);
      if (hit) return hit;
    }
    const cols = await db.query<{oid: number; name: string; type: string}>(COLUMNS_QUERY, [name]);
    const first = cols.rows[0];
    if (!first) {
      this.#tables.delete(name);
      return undefined;
    }
    const pk = await db.query<{name: string}>(PRIMARY_KEY_QUERY, [first.oid]);
    const table: PgTable = {
      name,
      columns: new Map(cols.rows.map(r => [r.name, {name: r.name, pgType: r.type}])),
      primaryKey: pk.rows.map(r => r.name),
    };
    this.#tables.set(name, table);
    return table;
  }
}
