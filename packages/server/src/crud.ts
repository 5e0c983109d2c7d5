// `tx.mutate.<table>.insert|upsert|update|delete` on Postgres. Values use the app's column
// names; SQL uses the server names from `.from()`. Values are converted per Postgres type
// (epoch ms → timestamps, JSON arrays → Postgres arrays, json columns as JSON).
import type {Schema, SchemaValueToTSType, TableSchema} from '@zync/zql';
import type {DBTransaction} from './db.ts';
import {quoteIdent, writeExpr, type PgCatalog, type PgTable} from './pg-columns.ts';

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

type Entry = {readonly server: string; readonly value: unknown};

export function makeSchemaCRUD<S extends Schema>(
  schema: S,
  catalog: PgCatalog,
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
  catalog: PgCatalog,
  tx: DBTransaction<unknown>,
): TableCRUD<TableSchema> {
  const ts = schema.tables[table] as TableSchema;
  const pk = ts.primaryKey.map(c => ts.columns[c]?.serverName ?? c);

  const entries = (value: unknown, what: string): Entry[] => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TypeError(`${table}.${what} needs an object`);
    }
    const out: Entry[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const col = ts.columns[k];
      if (!col) throw new TypeError(`${table}.${what}: unknown column "${k}"`);
      out.push({server: col.serverName ?? k, value: v});
    }
    for (const c of pk) {
      if (!out.some(e => e.server === c && e.value !== null)) {
        throw new TypeError(`${table}.${what} needs every primary key column`);
      }
    }
    return out;
  };

  const exprs = (desc: PgTable, es: readonly Entry[], params: unknown[]): string[] =>
    es.map(e => {
      const col = desc.columns.get(e.server);
      if (!col) throw new TypeError(`column "${e.server}" of table "${table}" does not exist`);
      return writeExpr(e.value, col, params);
    });

  const keyWhere = (desc: PgTable, es: readonly Entry[], params: unknown[]): string => {
    const keys = es.filter(e => pk.includes(e.server));
    const vals = exprs(desc, keys, params);
    return keys.map((k, i) => `${quoteIdent(k.server)} = ${vals[i]}`).join(' AND ');
  };

  const insert = async (value: unknown, upsert: boolean): Promise<void> => {
    const what = upsert ? 'upsert' : 'insert';
    const es = entries(value, what);
    const desc = await catalog.table(tx, table);
    const params: unknown[] = [];
    const vals = exprs(desc, es, params);
    let sql = `INSERT INTO ${desc.sqlName} (${es.map(e => quoteIdent(e.server)).join(', ')}) VALUES (${vals.join(', ')})`;
    if (upsert) {
      const rest = es.filter(e => !pk.includes(e.server));
      sql += ` ON CONFLICT (${pk.map(quoteIdent).join(', ')}) DO `;
      sql += rest.length
        ? `UPDATE SET ${rest.map(e => `${quoteIdent(e.server)} = EXCLUDED.${quoteIdent(e.server)}`).join(', ')}`
        : 'NOTHING';
    }
    await tx.query(sql, params);
  };

  return {
    insert: value => insert(value, false),
    upsert: value => insert(value, true),
    async update(value) {
      const es = entries(value, 'update');
      const rest = es.filter(e => !pk.includes(e.server));
      if (rest.length === 0) return;
      const desc = await catalog.table(tx, table);
      const params: unknown[] = [];
      const vals = exprs(desc, rest, params);
      const set = rest.map((e, i) => `${quoteIdent(e.server)} = ${vals[i]}`).join(', ');
      await tx.query(
        `UPDATE ${desc.sqlName} SET ${set} WHERE ${keyWhere(desc, es, params)}`,
        params,
      );
    },
    async delete(id) {
      const es = entries(id, 'delete');
      const desc = await catalog.table(tx, table);
      const params: unknown[] = [];
      await tx.query(`DELETE FROM ${desc.sqlName} WHERE ${keyWhere(desc, es, params)}`, params);
    },
  };
}
