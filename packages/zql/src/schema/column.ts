// Column builders. Each builder is immutable; `.schema` is the plain data that ends up in
// the app's schema object (zero-cache reads that data, never the builder classes).
import type {ReadonlyJSONValue} from '@zync/shared';

export type ValueType = 'string' | 'number' | 'boolean' | 'null' | 'json';

/** A column as plain data. `customType` exists only at the type level (a phantom). */
export type SchemaValue<T = unknown> =
  | {
      readonly type: ValueType;
      readonly serverName?: string | undefined;
      readonly optional?: boolean | undefined;
    }
  | SchemaValueWithCustomType<T>;

export type SchemaValueWithCustomType<T> = {
  readonly type: ValueType;
  readonly serverName?: string | undefined;
  readonly optional?: boolean | undefined;
  readonly customType: T;
};

export type TypeNameToTypeMap = {
  string: string;
  number: number;
  boolean: boolean;
  null: null;
  json: ReadonlyJSONValue;
};

type BaseTSType<T extends SchemaValue> =
  T extends SchemaValueWithCustomType<infer V> ? V : TypeNameToTypeMap[T['type']];

/** The TypeScript type of a column's value; optional columns add `null`. */
export type SchemaValueToTSType<T extends SchemaValue | ValueType> = T extends ValueType
  ? TypeNameToTypeMap[T]
  : T extends SchemaValue
    ? T extends {readonly optional: true}
      ? BaseTSType<T> | null
      : BaseTSType<T>
    : never;

export class ColumnBuilder<TShape extends SchemaValue> {
  readonly #schema: TShape;

  constructor(schema: TShape) {
    this.#schema = Object.freeze({...schema});
  }

  /** The column's name in Postgres when it differs from the name the app uses. */
  from<ServerName extends string>(
    serverName: ServerName,
  ): ColumnBuilder<TShape & {readonly serverName: string}> {
    if (typeof serverName !== 'string' || serverName === '') {
      throw new TypeError('column.from() needs a non-empty server column name');
    }
    return new ColumnBuilder({...this.#schema, serverName});
  }

  optional(): ColumnBuilder<Omit<TShape, 'optional'> & {readonly optional: true}> {
    return new ColumnBuilder({...this.#schema, optional: true as const});
  }

  get schema(): TShape {
    return this.#schema;
  }
}

type Col<Type extends ValueType, T> = ColumnBuilder<{
  readonly type: Type;
  readonly optional: false;
  readonly customType: T;
}>;

function col<Type extends ValueType, T>(type: Type): Col<Type, T> {
  // customType is a phantom: it never exists at run time.
  return new ColumnBuilder({type, optional: false} as {
    readonly type: Type;
    readonly optional: false;
    readonly customType: T;
  });
}

export function string<T extends string = string>(): Col<'string', T> {
  return col('string');
}

export function number<T extends number = number>(): Col<'number', T> {
  return col('number');
}

export function boolean<T extends boolean = boolean>(): Col<'boolean', T> {
  return col('boolean');
}

export function json<T extends ReadonlyJSONValue = ReadonlyJSONValue>(): Col<'json', T> {
  return col('json');
}

/** A string column whose values are the members of `T` (e.g. `'open' | 'closed'`). */
export function enumeration<T extends string>(): Col<'string', T> {
  return col('string');
}

export const column = {string, number, boolean, json, enumeration} as const;
