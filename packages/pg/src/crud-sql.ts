// INSERT / upsert / UPDATE / DELETE / keyed SELECT of one row, as statements with
// parameters. Columns are server names checked against the table read from the catalog
// (a column it lacks is a PgLayerError 'unknown-column'); values go through `writeExpr`.
// `values` maps column names to values; an undefined value leaves the column out.
import type {PgColumn, PgTable} from './catalog.ts';
import {PgLayerError} from './errors.ts';
import {empty, ident, join, raw, sql, type Sql} from './sql.ts';
import {writeExpr} from './values.ts';

export type WriteValues = Readonly<Record<string, unknown>>;

type KeyOption = {
  /** The columns that identify the row. Default: the table's primary key. */
  readonly key?: readonly string[] | undefined;
};

type ReturningOption = {
  /** A `SELECT` list (e.g. `selectList(table)`) the statement returns for the row. */
  readonly returning?: string | undefined;
};

type RequireRowOption = {
  /**
   * When no row has the key, the statement fails (division by zero) instead of doing
   * nothing: a batch of such statements then fails as a whole. No RETURNING then.
   */
  readonly requireRow?: boolean | undefined;
};

function column(table: PgTable, name: string): PgColumn {
  const col = table.columns.get(name);
  if (!col) {
    throw new PgLayerError('unknown-column', `unknown column ${name} in table ${table.name}`);
  }
  return col;
}

function value(table: PgTable, name: string, v: unknown): Sql {
  return writeExpr(table, column(table, name), v);
}

function given(values: WriteValues): string[] {
  return Object.keys(values).filter(c => values[c] !== undefined);
}

function keyOf(table: PgTable, options: KeyOption): readonly string[] {
  const key = options.key ?? table.primaryKey;
  if (key.length === 0) {
    throw new TypeError(`table ${table.name} has no primary key: name the key columns`);
  }
  return key;
}

function keyWhere(table: PgTable, values: WriteValues, key: readonly string[]): Sql {
  return join(
    key.map(k => sql`${ident(k)} = ${value(table, k, values[k])}`),
    ' AND ',
  );
}

function returning(options: ReturningOption): Sql {
  return options.returning === undefined ? empty : sql` RETURNING ${raw(options.returning)}`;
}

function requiringRow(statement: Sql): Sql {
  return sql`WITH w AS (${statement} RETURNING 1) SELECT 1 / count(*) FROM w`;
}

/**
 * `INSERT` of the given columns (`DEFAULT VALUES` when none). With `upsert`, a row with the
 * same key is updated instead: `ON CONFLICT (key) DO UPDATE` of the given non-key columns
 * (`DO NOTHING` when there are none).
 */
export function insertSql(
  table: PgTable,
  values: WriteValues,
  options: KeyOption & ReturningOption & {readonly upsert?: boolean | undefined} = {},
): Sql {
  const cols = given(values);
  const target = raw(table.sqlName);
  let statement =
    cols.length === 0
      ? sql`INSERT INTO ${target} DEFAULT VALUES`
      : sql`INSERT INTO ${target} (${join(
          cols.map(c => ident(c)),
          ', ',
        )}) VALUES (${join(
          cols.map(c => value(table, c, values[c])),
          ', ',
        )})`;
  if (options.upsert) {
    const key = keyOf(table, options);
    const rest = cols.filter(c => !key.includes(c));
    const onConflict = sql` ON CONFLICT (${join(
      key.map(k => ident(k)),
      ', ',
    )})`;
    statement =
      rest.length === 0
        ? sql`${statement}${onConflict} DO NOTHING`
        : sql`${statement}${onConflict} DO UPDATE SET ${join(
            rest.map(c => sql`${ident(c)} = EXCLUDED.${ident(c)}`),
            ', ',
          )}`;
  }
  return sql`${statement}${returning(options)}`;
}

/**
 * `UPDATE` of the given non-key columns of the row with the key in `values`; undefined when
 * there is no column to set.
 */
export function updateSql(
  table: PgTable,
  values: WriteValues,
  options: KeyOption & ReturningOption & RequireRowOption = {},
): Sql | undefined {
  const key = keyOf(table, options);
  const cols = given(values).filter(c => !key.includes(c));
  if (cols.length === 0) return undefined;
  const set = join(
    cols.map(c => sql`${ident(c)} = ${value(table, c, values[c])}`),
    ', ',
  );
  const statement = sql`UPDATE ${raw(table.sqlName)} SET ${set} WHERE ${keyWhere(table, values, key)}`;
  return options.requireRow ? requiringRow(statement) : sql`${statement}${returning(options)}`;
}

/** `DELETE` of the row with the key in `values`. */
export function deleteSql(
  table: PgTable,
  values: WriteValues,
  options: KeyOption & RequireRowOption = {},
): Sql {
  const where = keyWhere(table, values, keyOf(table, options));
  const statement = sql`DELETE FROM ${raw(table.sqlName)} WHERE ${where}`;
  return options.requireRow ? requiringRow(statement) : statement;
}

/** `SELECT <list> FROM table WHERE <key>`, optionally `FOR UPDATE` (locking the row). */
export function selectByKeySql(
  table: PgTable,
  values: WriteValues,
  list: string,
  options: KeyOption & {readonly forUpdate?: boolean | undefined} = {},
): Sql {
  const where = keyWhere(table, values, keyOf(table, options));
  const statement = sql`SELECT ${raw(list)} FROM ${raw(table.sqlName)} WHERE ${where}`;
  return options.forUpdate ? sql`${statement} FOR UPDATE` : statement;
}
