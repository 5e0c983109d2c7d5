// `table(name).from(server)?.columns({...}).primaryKey(...)`: immutable builders whose
// `.schema` is a frozen plain `TableSchema`.
import type {ColumnBuilder, SchemaValue} from './column.ts';

export type PrimaryKey = readonly [string, ...string[]];

export type TableSchema = {
  readonly name: string;
  readonly serverName?: string | undefined;
  readonly columns: {readonly [column: string]: SchemaValue};
  readonly primaryKey: PrimaryKey;
};

type Flatten<T> = {[K in keyof T]: T[K]} & {};

function checkName(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

export function table<TName extends string>(
  name: TName,
): TableBuilder<{name: TName; columns: Record<never, SchemaValue>; primaryKey: PrimaryKey}> {
  checkName('table name', name);
  return new TableBuilder({name, columns: {}, primaryKey: [] as unknown as PrimaryKey});
}

export class TableBuilder<TShape extends TableSchema> {
  readonly #schema: TShape;

  constructor(schema: TShape) {
    this.#schema = schema;
  }

  /** The table's name in Postgres (`schema.table` allowed) when it differs. */
  from<ServerName extends string>(serverName: ServerName): TableBuilder<TShape> {
    checkName('table.from() server name', serverName);
    return new TableBuilder({...this.#schema, serverName});
  }

  columns<const TColumns extends Record<string, ColumnBuilder<SchemaValue>>>(
    columns: TColumns,
  ): TableBuilderWithColumns<{
    name: TShape['name'];
    columns: {[K in keyof TColumns]: TColumns[K]['schema']};
    primaryKey: TShape['primaryKey'];
  }> {
    const cols: Record<string, SchemaValue> = {};
    for (const [name, builder] of Object.entries(columns)) {
      checkName('column name', name);
      // Duck-typed so builders from another copy of this module work too.
      const schema = (builder as {schema?: SchemaValue} | undefined)?.schema;
      if (!schema || typeof schema.type !== 'string') {
        throw new TypeError(
          `column "${name}" of table "${this.#schema.name}" must be a column builder such as string()`,
        );
      }
      cols[name] = schema;
    }
    return new TableBuilderWithColumns({
      ...this.#schema,
      columns: Object.freeze(cols),
    }) as never;
  }
}

export class TableBuilderWithColumns<TShape extends TableSchema> {
  readonly #schema: TShape;

  constructor(schema: TShape) {
    this.#schema = schema;
  }

  primaryKey<
    const TPK extends readonly [
      keyof TShape['columns'] & string,
      ...(keyof TShape['columns'] & string)[],
    ],
  >(
    ...pkColumnNames: TPK
  ): TableBuilderWithColumns<Flatten<Omit<TShape, 'primaryKey'> & {primaryKey: TPK}>> {
    if (pkColumnNames.length === 0) {
      throw new TypeError(`table "${this.#schema.name}": primaryKey() needs at least one column`);
    }
    for (const c of pkColumnNames) {
      if (!Object.hasOwn(this.#schema.columns, c)) {
        throw new TypeError(
          `table "${this.#schema.name}": primary key column "${c}" is not a column of the table`,
        );
      }
    }
    return new TableBuilderWithColumns({
      ...this.#schema,
      primaryKey: Object.freeze([...pkColumnNames]),
    }) as never;
  }

  get schema(): TShape {
    return this.#schema;
  }

  /** The finished, frozen table schema (plain data). */
  build(): TShape {
    const s = this.#schema;
    if (s.primaryKey.length === 0) {
      throw new TypeError(`table "${s.name}" has no primary key: call .primaryKey(...)`);
    }
    return Object.freeze({...s});
  }
}
