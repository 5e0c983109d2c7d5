// The query AST: plain, JSON-serialisable data with a `kind` on every node.
// It is the one shape shared by the query builder (zql), the client, zero-cache and the
// API server, so it lives in the protocol and is validated like any frame.
//
// The types are written out rather than inferred from the schemas: an app's declaration
// files then never import valibot, whose own declarations take a type checker about 8 s
// when an app checks its libraries (skipLibCheck off). ast.types.test.ts checks that each
// schema validates exactly its type.
import * as v from 'valibot';

export const literalValueSchema = v.union([
  v.string(),
  v.number(),
  v.boolean(),
  v.null(),
  v.array(v.union([v.string(), v.number(), v.boolean(), v.null()])),
]);
type Scalar = string | number | boolean | null;
export type LiteralValue = Scalar | Scalar[];

/** Every comparison operator a `simple` condition may use. */
export const SIMPLE_OPERATORS = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'IN',
  'NOT IN',
  'LIKE',
  'NOT LIKE',
  'ILIKE',
  'NOT ILIKE',
  'IS',
  'IS NOT',
] as const;

export const simpleOperatorSchema = v.picklist(SIMPLE_OPERATORS);
export type SimpleOperator = (typeof SIMPLE_OPERATORS)[number];

export const columnRefSchema = v.strictObject({kind: v.literal('column'), name: v.string()});
export type ColumnRef = {kind: 'column'; name: string};

export const literalRefSchema = v.strictObject({
  kind: v.literal('literal'),
  value: literalValueSchema,
});
export type LiteralRef = {kind: 'literal'; value: LiteralValue};

export const valuePositionSchema = v.variant('kind', [columnRefSchema, literalRefSchema]);
export type ValuePosition = ColumnRef | LiteralRef;

export type Direction = 'asc' | 'desc';
export type Ordering = readonly (readonly [column: string, direction: Direction])[];
export const orderingSchema = v.array(
  v.tuple([v.string(), v.picklist(['asc', 'desc'])]),
) as v.GenericSchema<Ordering>;

/** A comparison. `left` is usually a column; `right` a literal (or a column). */
export type SimpleCondition = {
  readonly kind: 'simple';
  readonly op: SimpleOperator;
  readonly left: ValuePosition;
  readonly right: ValuePosition;
};

export type Conjunction = {readonly kind: 'and'; readonly conditions: readonly Condition[]};
export type Disjunction = {readonly kind: 'or'; readonly conditions: readonly Condition[]};

/** `EXISTS`/`NOT EXISTS` over a correlated subquery. */
export type ExistsCondition = {
  readonly kind: 'exists';
  readonly op: 'EXISTS' | 'NOT EXISTS';
  readonly related: CorrelatedSubquery;
};

export type Condition = SimpleCondition | Conjunction | Disjunction | ExistsCondition;

export type Correlation = {
  readonly parentField: readonly string[];
  readonly childField: readonly string[];
};

/**
 * A subquery joined to its parent row. `hidden` marks the junction hop of a two-hop
 * relationship: its rows are not shown, their children take its place.
 */
export type CorrelatedSubquery = {
  readonly kind: 'correlated';
  readonly correlation: Correlation;
  readonly subquery: AST;
  readonly hidden?: boolean | undefined;
  /**
   * Set only by zero-cache, on the EXISTS subqueries that select permission rules add: their
   * rows decide which parent rows pass and never leave the server. Not part of the wire
   * format: `correlatedSubquerySchema` refuses an AST that carries it.
   */
  readonly serverOnly?: boolean | undefined;
};

export type Bound = {
  readonly row: Readonly<Record<string, LiteralValue>>;
  readonly exclusive: boolean;
};

export type AST = {
  readonly kind: 'query';
  readonly table: string;
  /** The relationship name this subquery is shown under in its parent row. */
  readonly alias?: string | undefined;
  readonly where?: Condition | undefined;
  readonly related?: readonly CorrelatedSubquery[] | undefined;
  readonly start?: Bound | undefined;
  readonly limit?: number | undefined;
  readonly orderBy?: Ordering | undefined;
  /** `.one()`: the view is a single row or undefined. */
  readonly one?: boolean | undefined;
};

export const conditionSchema: v.GenericSchema<Condition> = v.lazy(() =>
  v.variant('kind', [
    v.strictObject({
      kind: v.literal('simple'),
      op: simpleOperatorSchema,
      left: valuePositionSchema,
      right: valuePositionSchema,
    }),
    v.strictObject({kind: v.literal('and'), conditions: v.array(conditionSchema)}),
    v.strictObject({kind: v.literal('or'), conditions: v.array(conditionSchema)}),
    v.strictObject({
      kind: v.literal('exists'),
      op: v.picklist(['EXISTS', 'NOT EXISTS']),
      related: correlatedSubquerySchema,
    }),
  ]),
);

export const correlatedSubquerySchema: v.GenericSchema<CorrelatedSubquery> = v.lazy(() =>
  v.strictObject({
    kind: v.literal('correlated'),
    correlation: v.strictObject({
      parentField: v.array(v.string()),
      childField: v.array(v.string()),
    }),
    subquery: astSchema,
    hidden: v.optional(v.boolean()),
  }),
);

export const astSchema: v.GenericSchema<AST> = v.lazy(() =>
  v.strictObject({
    kind: v.literal('query'),
    table: v.string(),
    alias: v.optional(v.string()),
    where: v.optional(conditionSchema),
    related: v.optional(v.array(correlatedSubquerySchema)),
    start: v.optional(
      v.strictObject({
        row: v.record(v.string(), literalValueSchema),
        exclusive: v.boolean(),
      }),
    ),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    orderBy: v.optional(orderingSchema),
    one: v.optional(v.boolean()),
  }),
);
