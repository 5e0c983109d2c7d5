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

export type ExpressionBuilderOptions = {
  /**
   * Permission rules see real claim values, so `cmp(authData.role, '=', 'admin')` has a
   * literal on the left. With this flag a first argument that is not a column of the
   * table is taken as a literal instead of being an error.
   */
  readonly literalLeft?: boolean | undefined;
};

/*
 * The members are declared as methods (with `this: void`: they are bound closures) in a
 * merged interface. Method parameters are compared bivariantly, so a rule typed for
 * `ExpressionBuilder<S, keyof S['tables']>` fits the policy of any one table, as in Zero.
 */

export interface ExpressionBuilder<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> {
  cmp<
    TSelector extends NoCompoundTypeSelector<PullTableSchema<TTable, TSchema>>,
    TOperator extends SimpleOperator,
  >(
    this: void,
    field: TSelector,
    op: TOperator,
    value: GetFilterType<PullTableSchema<TTable, TSchema>, TSelector, TOperator>,
  ): Condition;
  cmp<TSelector extends NoCompoundTypeSelector<PullTableSchema<TTable, TSchema>>>(
    this: void,
    field: TSelector,
    value: GetFilterType<PullTableSchema<TTable, TSchema>, TSelector, '='>,
  ): Condition;
  /** Compares two literals (e.g. a claim with a constant). */
  cmpLit(
    this: void,
    left: ReadonlyJSONValue | undefined,
    op: SimpleOperator,
    right: ReadonlyJSONValue | undefined,
  ): Condition;
  and(this: void, ...conditions: (Condition | undefined)[]): Condition;
  or(this: void, ...conditions: (Condition | undefined)[]): Condition;
  not(this: void, condition: Condition): Condition;
  exists<TRelationship extends AvailableRelationships<TTable, TSchema>>(
    this: void,
    relationship: TRelationship,
    cb?: (
      q: Query<TSchema, DestTableName<TTable, TSchema, TRelationship>>,
    ) => Query<TSchema, string, any>,
    options?: ExistsOptions,
  ): Condition;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ExpressionBuilder<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
> {
  constructor(exists: ExistsFn, table?: TableSchema, options?: ExpressionBuilderOptions) {
    const literalLeft = options?.literalLeft === true;
    this.and = and;
    this.or = or;
    this.not = not;
    this.exists = exists as ExpressionBuilder<TSchema, TTable>['exists'];
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
