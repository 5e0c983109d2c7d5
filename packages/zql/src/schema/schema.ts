// `createSchema`: gathers table and relationship builders into one plain, frozen, JSON-able
// object. Everything downstream (client, zero-cache) works from this data alone.
import type {Relationships, RelationshipsSchema} from './relationships.ts';
import type {TableBuilderWithColumns, TableSchema} from './table.ts';
import type {SchemaValueToTSType} from './column.ts';

export type Schema = {
  readonly tables: {readonly [table: string]: TableSchema};
  readonly relationships: {readonly [table: string]: RelationshipsSchema};
  /** Query roots `zero.query.<table>` synced by the server. Absent means enabled. */
  readonly enableLegacyQueries?: boolean | undefined;
  /** CRUD mutators `zero.mutate.<table>`. Absent means enabled. */
  readonly enableLegacyMutators?: boolean | undefined;
};

/** A row of a table: optional columns are `T | null`. (The query form lives in query/.) */
export type TableRow<T extends TableSchema> = {
  readonly [K in keyof T['columns']]: SchemaValueToTSType<T['columns'][K]>;
};

type TablesOf<TTables extends readonly TableBuilderWithColumns<TableSchema>[]> = {
  readonly [K in TTables[number]['schema']['name']]: Extract<TTables[number]['schema'], {name: K}>;
};

type RelationshipsOf<TRels extends readonly Relationships[]> = {
  readonly [K in TRels[number]['name']]: Extract<TRels[number], {name: K}>['relationships'];
};

export function createSchema<
  const TTables extends readonly TableBuilderWithColumns<TableSchema>[],
  const TRelationships extends readonly Relationships[] = readonly [],
  const TEnableLegacyQueries extends boolean | undefined = undefined,
  const TEnableLegacyMutators extends boolean | undefined = undefined,
>(options: {
  readonly tables: TTables;
  readonly relationships?: TRelationships | undefined;
  readonly enableLegacyQueries?: TEnableLegacyQueries | undefined;
  readonly enableLegacyMutators?: TEnableLegacyMutators | undefined;
}): {
  readonly tables: TablesOf<TTables>;
  readonly relationships: RelationshipsOf<TRelationships>;
  readonly enableLegacyQueries: TEnableLegacyQueries;
  readonly enableLegacyMutators: TEnableLegacyMutators;
} {
  const tables: Record<string, TableSchema> = {};
  for (const t of options.tables) {
    const builder = t as {build?: () => TableSchema; schema?: TableSchema} | undefined;
    const ts = typeof builder?.build === 'function' ? builder.build() : builder?.schema;
    if (!ts || typeof ts.name !== 'string') {
      throw new TypeError('createSchema: every entry of `tables` must be a table builder');
    }
    if (Object.hasOwn(tables, ts.name)) {
      throw new TypeError(`createSchema: table "${ts.name}" is defined twice`);
    }
    tables[ts.name] = ts;
  }
  const relationships: Record<string, RelationshipsSchema> = {};
  for (const r of options.relationships ?? []) {
    if (!Object.hasOwn(tables, r.name)) {
      throw new TypeError(`createSchema: relationships for unknown table "${r.name}"`);
    }
    if (Object.hasOwn(relationships, r.name)) {
      throw new TypeError(`createSchema: relationships for table "${r.name}" are given twice`);
    }
    for (const [relName, rel] of Object.entries(r.relationships)) {
      if (Object.hasOwn(tables[r.name]!.columns, relName)) {
        throw new TypeError(
          `createSchema: relationship "${r.name}.${relName}" has the same name as a column`,
        );
      }
      let source = tables[r.name]!;
      for (const hop of rel) {
        const dest = tables[hop.destSchema];
        if (!dest) {
          throw new TypeError(
            `createSchema: relationship "${r.name}.${relName}" points to unknown table "${hop.destSchema}"`,
          );
        }
        for (const f of hop.sourceField) {
          if (!Object.hasOwn(source.columns, f)) {
            throw new TypeError(
              `createSchema: relationship "${r.name}.${relName}": "${f}" is not a column of "${source.name}"`,
            );
          }
        }
        for (const f of hop.destField) {
          if (!Object.hasOwn(dest.columns, f)) {
            throw new TypeError(
              `createSchema: relationship "${r.name}.${relName}": "${f}" is not a column of "${dest.name}"`,
            );
          }
        }
        source = dest;
      }
    }
    relationships[r.name] = r.relationships;
  }
  const schema: Record<string, unknown> = {
    tables: Object.freeze(tables),
    relationships: Object.freeze(relationships),
  };
  if (options.enableLegacyQueries !== undefined) {
    schema['enableLegacyQueries'] = options.enableLegacyQueries;
  }
  if (options.enableLegacyMutators !== undefined) {
    schema['enableLegacyMutators'] = options.enableLegacyMutators;
  }
  return Object.freeze(schema) as never;
}

/** True unless the schema opts out with `enableLegacyQueries: false`. */
export function legacyQueriesEnabled(schema: Schema): boolean {
  return schema.enableLegacyQueries !== false;
}

/** True unless the schema opts out with `enableLegacyMutators: false`. */
export function legacyMutatorsEnabled(schema: Schema): boolean {
  return schema.enableLegacyMutators !== false;
}

/** Looks up a table by its client name; a TypeError names the unknown table. */
export function tableSchemaOf(schema: Schema, table: string): TableSchema {
  const t = Object.hasOwn(schema.tables, table) ? schema.tables[table] : undefined;
  if (!t) {
    throw new TypeError(`unknown table "${table}"`);
  }
  return t;
}
