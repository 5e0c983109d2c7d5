// `definePermissions(schema, () => config)`: keeps the rule functions (they are called
// with the real decoded claims when a connection is bound, see bind.ts) next to the
// schema, as plain data and plain functions: no classes, no module identity.
/* eslint-disable @typescript-eslint/no-explicit-any -- rules take the app's own AuthData */
import type {Condition} from '@zync/protocol';
import type {Schema} from '../schema/schema.ts';
import type {ExpressionBuilder} from '../query/expression.ts';

export type PermissionRule<
  TAuthData,
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> = (authData: TAuthData, eb: ExpressionBuilder<TSchema, TTable>) => Condition;

export type AssetPermissions<
  TAuthData,
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> = {
  select?: PermissionRule<TAuthData, TSchema, TTable>[] | undefined;
  insert?: PermissionRule<TAuthData, TSchema, TTable>[] | undefined;
  update?:
    | {
        preMutation?: PermissionRule<TAuthData, TSchema, TTable>[] | undefined;
        postMutation?: PermissionRule<TAuthData, TSchema, TTable>[] | undefined;
      }
    | undefined;
  delete?: PermissionRule<TAuthData, TSchema, TTable>[] | undefined;
};

export type PermissionsConfig<TAuthData, TSchema extends Schema> = {
  [K in keyof TSchema['tables']]?: {
    row?: AssetPermissions<TAuthData, TSchema, K & string> | undefined;
    /**
     * Column-level rules, evaluated on top of the row rules (see docs/permissions.md). An
     * action left out places no restriction of its own; a `select` policy on a primary key
     * column is refused (rows are identified by their key).
     */
    cell?:
      | {
          [C in keyof TSchema['tables'][K]['columns']]?: Omit<
            AssetPermissions<TAuthData, TSchema, K & string>,
            'cell'
          >;
        }
      | undefined;
  };
};

/** A rule as stored: any claims shape, any table. */
export type StoredRule = (authData: any, eb: ExpressionBuilder<Schema, string>) => Condition;
export type StoredPolicy = readonly StoredRule[];

export type StoredRowPermissions = {
  readonly select?: StoredPolicy | undefined;
  readonly insert?: StoredPolicy | undefined;
  readonly update?:
    | {
        readonly preMutation?: StoredPolicy | undefined;
        readonly postMutation?: StoredPolicy | undefined;
      }
    | undefined;
  readonly delete?: StoredPolicy | undefined;
};

/** A table's column rules: one set of policies per column (client names). */
export type StoredCellPermissions = {
  readonly [column: string]: StoredRowPermissions | undefined;
};

/** What `definePermissions` resolves to; bind it to a connection's claims with bindPermissions. */
export type DefinedPermissions = {
  readonly kind: 'zync-permissions';
  readonly schema: Schema;
  readonly tables: {
    readonly [table: string]:
      | {
          readonly row?: StoredRowPermissions | undefined;
          readonly cell?: StoredCellPermissions | undefined;
        }
      | undefined;
  };
};

/** The part of the expression builder ANYONE_CAN uses (so it fits every table's rules). */
export type AlwaysBuilder = {readonly and: (...conditions: Condition[]) => Condition};

/** The policy that allows everyone: one rule that is always true. */
export const ANYONE_CAN: ((_: unknown, eb: AlwaysBuilder) => Condition)[] = Object.freeze([
  (_: unknown, eb: AlwaysBuilder): Condition => eb.and(),
]) as unknown as ((_: unknown, eb: AlwaysBuilder) => Condition)[];

/** The policy that allows no one (the same as leaving the policy out). */
export const NOBODY_CAN = Object.freeze([]) as unknown as never[];

/** @deprecated spell out the policies; kept for apps written against Zero. */
export const ANYONE_CAN_DO_ANYTHING = Object.freeze({
  row: Object.freeze({
    select: ANYONE_CAN,
    insert: ANYONE_CAN,
    update: Object.freeze({preMutation: ANYONE_CAN, postMutation: ANYONE_CAN}),
    delete: ANYONE_CAN,
  }),
});

function policy(value: unknown, where: string): StoredPolicy | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some(r => typeof r !== 'function')) {
    throw new TypeError(`definePermissions: ${where} must be an array of rules (functions)`);
  }
  return Object.freeze([...(value as StoredRule[])]);
}

function storedPolicies(value: unknown, where: string): StoredRowPermissions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`definePermissions: ${where} must be an object of policies`);
  }
  const p = value as Record<string, unknown>;
  const update = p['update'];
  if (update !== undefined && (typeof update !== 'object' || update === null)) {
    throw new TypeError(`definePermissions: ${where}.update must be {preMutation, postMutation}`);
  }
  const u = update as Record<string, unknown> | undefined;
  return Object.freeze({
    select: policy(p['select'], `${where}.select`),
    insert: policy(p['insert'], `${where}.insert`),
    update:
      u === undefined
        ? undefined
        : Object.freeze({
            preMutation: policy(u['preMutation'], `${where}.update.preMutation`),
            postMutation: policy(u['postMutation'], `${where}.update.postMutation`),
          }),
    delete: policy(p['delete'], `${where}.delete`),
  });
}

export async function definePermissions<TAuthData, TSchema extends Schema>(
  schema: TSchema,
  definer: () =>
    Promise<PermissionsConfig<TAuthData, TSchema>> | PermissionsConfig<TAuthData, TSchema>,
): Promise<DefinedPermissions> {
  if (!schema || typeof schema !== 'object' || typeof schema.tables !== 'object') {
    throw new TypeError('definePermissions: the first argument must be the schema');
  }
  const config = (await definer()) as Record<string, unknown> | undefined;
  const tables: Record<string, DefinedPermissions['tables'][string]> = {};
  for (const [table, value] of Object.entries(config ?? {})) {
    if (!Object.hasOwn(schema.tables, table)) {
      throw new TypeError(`definePermissions: unknown table "${table}"`);
    }
    if (value === undefined) continue;
    const {row, cell} = value as {row?: unknown; cell?: unknown};
    const storedRow = row === undefined ? undefined : storedPolicies(row, `${table}.row`);
    let storedCell: StoredCellPermissions | undefined;
    if (cell !== undefined) {
      if (typeof cell !== 'object' || cell === null || Array.isArray(cell)) {
        throw new TypeError(`definePermissions: ${table}.cell must be an object of columns`);
      }
      const tableSchema = schema.tables[table]!;
      const cells: Record<string, StoredRowPermissions> = {};
      for (const [column, policies] of Object.entries(cell)) {
        if (!Object.hasOwn(tableSchema.columns, column)) {
          throw new TypeError(`definePermissions: ${table}.cell names unknown column "${column}"`);
        }
        if (policies === undefined) continue;
        const stored = storedPolicies(policies, `${table}.cell.${column}`);
        if (stored.select !== undefined && tableSchema.primaryKey.includes(column)) {
          throw new TypeError(
            `definePermissions: ${table}.cell.${column}.select restricts a primary key ` +
              'column, which identifies rows and cannot be hidden; use a row select rule',
          );
        }
        cells[column] = stored;
      }
      storedCell = Object.freeze(cells);
    }
    tables[table] = Object.freeze({row: storedRow, cell: storedCell});
  }
  return Object.freeze({kind: 'zync-permissions', schema, tables: Object.freeze(tables)});
}
