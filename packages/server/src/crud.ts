// `tx.mutate.<table>.insert|upsert|update|delete` on Postgres. Values use the app's column
// names; SQL uses the server names from `.from()`. The statements and the conversion of
// values per Postgres type (epoch ms → timestamps, JSON arrays → Postgres arrays, json
// columns as JSON) are @zync/pg's.
import {deleteSql, insertSql, PgLayerError, updateSql, type PgTable, type Sql} from '@zync/pg';
import type {Schema, SchemaValueToTSType, TableSchema} from '@zync/zql';
import type {DBTransaction} from './db.ts';
import type {SchemaCatalog} from './schema-catalog.ts';

type Columns<T extends TableSchema> = T['columns'];
type OptionalKeys<T extends TableSchema> = {
  [K in keyof Columns<T>]: Columns<T>[K] extends {readonly optional: true} ? K : never;
}[keyof Columns<T>];
type PrimaryKeyKeys<T extends TableSchema> = T['primaryKey'][number];
type ValueOf<T extends TableSchema, K extends keyof Columns<T>> = SchemaValueToTSType<
  Columns<T>[K]
>;

/** A row to insert or upsert: optional columns may be left out. */
export type InsertValue<T extends TableSchema> = {
  readonly [K in Exclude<keyof Columns<T>, OptionalKeys<T>>]: ValueOf<T, K>;
} & {readonly [K in OptionalKeys<T>]?: ValueOf<T, K> | undefined};

/** The primary key plus the columns to change. */
export type UpdateValue<T extends TableSchema> = {
  readonly [K in PrimaryKeyKeys<T> & keyof Columns<T>]: ValueOf<T, K>;
} & {readonly [K in keyof Columns<T>]?: ValueOf<T, K> | undefined};

/** The primary key of the row to delete. */
export type DeleteID<T extends TableSchema> = {
  readonly [K in PrimaryKeyKeys<T> & keyof Columns<T>]: ValueOf<T, K>;
};

export type TableCRUD<T extends TableSchema> = {
  insert(value: InsertValue<T>): Promise<void>;
  upsert(value: InsertValue<T>): Promise<void>;
  update(value: UpdateValue<T>): Promise<void>;
  delete(id: DeleteID<T>): Promise<void>;
};

export type SchemaCRUD<S extends Schema> = {
  readonly [K in keyof S['tables'] & string]: TableCRUD<S['tables'][K]>;
};

export function makeSchemaCRUD<S extends Schema>(
  schema: S,
  catalog: SchemaCatalog,
  tx: DBTransaction<unknown>,
): SchemaCRUD<S> {
  const crud: Record<string, TableCRUD<TableSchema>> = {};
  for (const table of Object.keys(schema.tables)) {
    crud[table] = tableCRUD(schema, table, catalog, tx);
  }
  return Object.freeze(crud) as unknown as SchemaCRUD<S>;
}

function tableCRUD(
  schema: Schema,
  table: string,
  catalog: SchemaCatalog,
  tx: DBTransaction<unknown>,
): TableCRUD<TableSchema> {
  const ts = schema.tables[table] as TableSchema;
  const key = ts.primaryKey.map(c => ts.columns[c]?.serverName ?? c);

  /** The value in server column names (undefined values left out), checked for its key. */
  const serverValues = (value: unknown, what: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TypeError(`${table}.${what} needs an object`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const col = ts.columns[k];
      if (!col) throw new TypeError(`${table}.${what}: unknown column "${k}"`);
      out[col.serverName ?? k] = v;
    }
    for (const c of key) {
      if (out[c] === undefined || out[c] === null) {
        throw new TypeError(`${table}.${what} needs every primary key column`);
      }
    }
    return out;
  };

  /** Runs the statement built for the Postgres table (none: nothing to do). */
  const write = async (
    values: Record<string, unknown>,
    statement: (desc: PgTable) => Sql | undefined,
  ): Promise<void> => {
    const desc = await catalog.table(tx, table);
    for (const c of Object.keys(values)) {
      if (!desc.columns.has(c)) {
        throw new TypeError(`column "${c}" of table "${table}" does not exist`);
      }
    }
    let q: Sql | undefined;
    try {
      q = statement(desc);
    } catch (e) {
      throw valueError(e);
    }
    if (q) await tx.query(q.text, q.values);
  };

  const insert = (value: unknown, upsert: boolean): Promise<void> => {
    const values = serverValues(value, upsert ? 'upsert' : 'insert');
    return write(values, desc => insertSql(desc, values, {key, upsert}));
  };

  return {
    insert: value => insert(value, false),
    upsert: value => insert(value, true),
    async update(value) {
      const values = serverValues(value, 'update');
      if (Object.keys(values).every(c => key.includes(c))) return;
      await write(values, desc => updateSql(desc, values, {key}));
    },
    async delete(id) {
      const values = serverValues(id, 'delete');
      await write(values, desc => deleteSql(desc, values, {key}));
    },
  };
}

/** The API server's own messages for a value of the wrong shape. */
function valueError(e: unknown): unknown {
  if (!(e instanceof PgLayerError) || e.kind !== 'invalid-value') return e;
  switch (e.need) {
    case 'an array':
      return new TypeError('an array column needs a JSON array', {cause: e});
    case 'a scalar':
      return new TypeError('only json and array columns take objects or arrays', {cause: e});
    default:
      return e;
  }
}
