import type {SchemaValueToTSType} from '../schema/column.ts';
import type {TableSchema} from '../schema/table.ts';

type Cols<T extends TableSchema> = T['columns'];
type Value<T extends TableSchema, K extends keyof Cols<T>> = SchemaValueToTSType<Cols<T>[K]>;
type OptionalKeys<T extends TableSchema> = {
  [K in keyof Cols<T>]: Cols<T>[K] extends {optional: true} ? K : never;
}[keyof Cols<T>];
type RequiredKeys<T extends TableSchema> = Exclude<keyof Cols<T>, OptionalKeys<T>>;
type PKKeys<T extends TableSchema> = T['primaryKey'][number] & keyof Cols<T>;

/** A row to insert: required columns must be given, optional ones may be. */
export type InsertValue<T extends TableSchema> = {
  [K in RequiredKeys<T>]: Value<T, K>;
} & {[K in OptionalKeys<T>]?: Value<T, K> | null | undefined};

/** A partial row to update: the primary key plus any other columns. */
export type UpdateValue<T extends TableSchema> = {[K in PKKeys<T>]: Value<T, K>} & {
  [K in Exclude<keyof Cols<T>, PKKeys<T>>]?: Value<T, K> | undefined;
};

/** The primary key of a row to delete. */
export type DeleteID<T extends TableSchema> = {[K in PKKeys<T>]: Value<T, K>};
