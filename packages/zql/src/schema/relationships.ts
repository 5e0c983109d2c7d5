// `relationships(table, ({one, many}) => ({...}))`: each relationship is one hop, or two
// hops through a junction table (many-to-many). The result is plain data.
import type {TableBuilderWithColumns, TableSchema} from './table.ts';

export type Cardinality = 'one' | 'many';

export type Connection = {
  readonly sourceField: readonly string[];
  readonly destField: readonly string[];
  readonly destSchema: string;
  readonly cardinality: Cardinality;
};

export type Relationship = readonly [Connection] | readonly [Connection, Connection];

export type RelationshipsSchema = {readonly [name: string]: Relationship};

export type LastInTuple<T extends Relationship> = T extends readonly [infer L]
  ? L
  : T extends readonly [unknown, infer L]
    ? L
    : never;

type Cols<T extends TableSchema> = keyof T['columns'] & string;

export type ConnectArg<TSource extends TableSchema, TDest extends TableSchema> = {
  readonly sourceField: readonly Cols<TSource>[];
  readonly destField: readonly Cols<TDest>[];
  readonly destSchema: TableBuilderWithColumns<TDest>;
};

export type TypedConnection<TDest extends TableSchema, C extends Cardinality> = {
  readonly sourceField: readonly string[];
  readonly destField: readonly string[];
  readonly destSchema: TDest['name'];
  readonly cardinality: C;
};

export type Connect<C extends Cardinality, TSource extends TableSchema> = {
  <TDest extends TableSchema>(
    hop: ConnectArg<TSource, TDest>,
  ): readonly [TypedConnection<TDest, C>];
  <TJunction extends TableSchema, TDest extends TableSchema>(
    first: ConnectArg<TSource, TJunction>,
    second: ConnectArg<TJunction, TDest>,
  ): readonly [TypedConnection<TJunction, C>, TypedConnection<TDest, C>];
};

export type Relationships = {
  readonly name: string;
  readonly relationships: RelationshipsSchema;
};

function connect(cardinality: Cardinality, hops: readonly unknown[]): Relationship {
  if (hops.length !== 1 && hops.length !== 2) {
    throw new TypeError('a relationship has one hop, or two hops through a junction table');
  }
  const out = hops.map((hop): Connection => {
    const h = hop as Partial<Record<'sourceField' | 'destField', unknown>> & {
      destSchema?: {schema?: {name?: unknown}} | string;
    };
    const dest = typeof h.destSchema === 'string' ? h.destSchema : h.destSchema?.schema?.name;
    if (typeof dest !== 'string') {
      throw new TypeError('relationship destSchema must be a table builder');
    }
    const fields = (f: unknown, what: string): readonly string[] => {
      if (!Array.isArray(f) || f.length === 0 || f.some(x => typeof x !== 'string')) {
        throw new TypeError(
          `relationship to "${dest}": ${what} must be a non-empty array of column names`,
        );
      }
      return Object.freeze([...(f as string[])]);
    };
    const sourceField = fields(h.sourceField, 'sourceField');
    const destField = fields(h.destField, 'destField');
    if (sourceField.length !== destField.length) {
      throw new TypeError(
        `relationship to "${dest}": sourceField and destField must have the same length`,
      );
    }
    return Object.freeze({sourceField, destField, destSchema: dest, cardinality});
  });
  return Object.freeze(out) as unknown as Relationship;
}

export function relationships<
  TSource extends TableSchema,
  TRelationships extends Record<string, Relationship>,
>(
  table: TableBuilderWithColumns<TSource>,
  cb: (connects: {one: Connect<'one', TSource>; many: Connect<'many', TSource>}) => TRelationships,
): {name: TSource['name']; relationships: TRelationships} {
  const name = (table as {schema?: {name?: unknown}} | undefined)?.schema?.name;
  if (typeof name !== 'string') {
    throw new TypeError('relationships() needs a table builder as its first argument');
  }
  const one = ((...hops: unknown[]) => connect('one', hops)) as Connect<'one', TSource>;
  const many = ((...hops: unknown[]) => connect('many', hops)) as Connect<'many', TSource>;
  const rels = cb({one, many});
  return Object.freeze({name: name, relationships: Object.freeze({...rels})});
}
