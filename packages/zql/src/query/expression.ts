// The `eb` handed to `where(eb => ...)` and to permission rules: cmp, cmpLit, and, or,
// not, exists. Every function is a bound property so that destructuring works.
/* eslint-disable @typescript-eslint/no-explicit-any -- see query.ts */
import type {Condition, SimpleOperator} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '../schema/schema.ts';
import type {TableSchema} from '../schema/table.ts';
import {and, isSimpleOperator, literalFor, not, or, simple, toLiteral} from './condition.ts';
import type {
  AvailableRelationships,
  DestTableName,
  ExistsOptions,
  GetFilterType,
  NoCompoundTypeSelector,
  PullTableSchema,
  Query,
} from './query.ts';

export interface ExpressionFactory<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> {
  (eb: ExpressionBuilder<TSchema, TTable>): Condition;
}

export type ExistsFn = (
  relationship: string,
  cb?: (q: any) => any,
  options?: ExistsOptions,
) => Condition;

export interface CmpFn<TSchema extends Schema, TTable extends keyof TSchema['tables'] & string> {
  <
    TSelector extends NoCompoundTypeSelector<PullTableSchema<TTable, TSchema>>,
    TOperator extends SimpleOperator,
  >(
    field: TSelector,
    op: TOperator,
    value: GetFilterType<PullTableSchema<TTable, TSchema>, TSelector, TOperator>,
  ): Condition;
  <TSelector extends NoCompoundTypeSelector<PullTableSchema<TTable, TSchema>>>(
    field: TSelector,
    value: GetFilterType<PullTableSchema<TTable, TSchema>, TSelector, '='>,
  ): Condition;
}

export type ExistsBuilderFn<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> = <TRelationship extends AvailableRelationships<TTable, TSchema>>(
  relationship: TRelationship,
  cb?: (
    q: Query<TSchema, DestTableName<TTable, TSchema, TRelationship>>,
  ) => Query<TSchema, string, any>,
  options?: ExistsOptions,
) => Condition;

export type ExpressionBuilderOptions = {
  /**
   * Permission rules see real claim values, so `cmp(authData.role, '=', 'admin')` has a
   * literal on the left. With this flag a first argument that is not a column of the
   * table is taken as a literal instead of being an error.
   */
  readonly literalLeft?: boolean | undefined;
};

export class ExpressionBuilder<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> {
  readonly cmp: CmpFn<TSchema, TTable>;
  readonly cmpLit: (
    left: ReadonlyJSONValue | undefined,
    op: SimpleOperator,
    right: ReadonlyJSONValue | undefined,
  ) => Condition;
  readonly and: typeof and = and;
  readonly or: typeof or = or;
  readonly not: typeof not = not;
  readonly exists: ExistsBuilderFn<TSchema, TTable>;

  constructor(exists: ExistsFn, table?: TableSchema, options?: ExpressionBuilderOptions) {
    const literalLeft = options?.literalLeft === true;
    this.exists = exists as ExistsBuilderFn<TSchema, TTable>;
    this.cmpLit = (left, op, right) => {
      if (!isSimpleOperator(op)) {
        throw new TypeError(`unknown operator ${JSON.stringify(op)}`);
      }
      const r = toLiteral(right);
      if ((op === 'IN' || op === 'NOT IN') && r !== null && !Array.isArray(r)) {
        throw new TypeError(`operator ${op} needs an array of values on the right`);
      }
      return simple({kind: 'literal', value: toLiteral(left)}, op, {kind: 'literal', value: r});
    };
    const cmp = (field: unknown, ...args: unknown[]): Condition => {
      const [op, value] = args.length >= 2 ? args : ['=', args[0]];
      if (!isSimpleOperator(op)) {
        throw new TypeError(`unknown operator ${JSON.stringify(op)}`);
      }
      const isColumn =
        typeof field === 'string' && (table === undefined || Object.hasOwn(table.columns, field));
      if (isColumn) {
        return simple({kind: 'column', name: field}, op, {
          kind: 'literal',
          value: literalFor(op, value),
        });
      }
      if (literalLeft) {
        return this.cmpLit(field as ReadonlyJSONValue, op, value as ReadonlyJSONValue);
      }
      throw new TypeError(
        typeof field === 'string'
          ? `unknown column "${field}" in table "${table?.name}"`
          : 'cmp() needs a column name as its first argument',
      );
    };
    this.cmp = cmp;
  }

  get eb(): this {
    return this;
  }
}
