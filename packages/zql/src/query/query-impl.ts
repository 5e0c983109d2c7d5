// The one Query implementation. Immutable: every builder call returns a new QueryImpl
// over a new plain AST. `ast` is the complete form (PK tie-break on every level), frozen.
/* eslint-disable @typescript-eslint/no-explicit-any -- see query.ts */
import type {AST, Condition, CorrelatedSubquery, LiteralValue} from '@zync/protocol';
import {hashOf, type ReadonlyJSONValue} from '@zync/shared';
import type {Relationship} from '../schema/relationships.ts';
import {tableSchemaOf, type Schema} from '../schema/schema.ts';
import type {TableSchema} from '../schema/table.ts';
import {completeOrdering, deepFreeze, formatOf, hashAST} from './ast.ts';
import {and, cmp, isAlwaysTrue, toLiteral} from './condition.ts';
import {
  delegateSymbol,
  type CustomQueryID,
  type Format,
  type PreloadOptions,
  type QueryDelegate,
  type RunOptions,
  type TTL,
  type ViewFactory,
} from './delegate.ts';
import {ExpressionBuilder, type ExpressionBuilderOptions} from './expression.ts';
import type {AnyQuery, ExistsOptions, PullRow, Query} from './query.ts';

type MutableAST = {-readonly [K in keyof AST]: AST[K]};

/** Alias prefix of EXISTS subqueries (they are never shown). */
export const EXISTS_ALIAS_PREFIX = 'zsubq_';

export class QueryImpl<
  TSchema extends Schema,
  TTable extends keyof TSchema['tables'] & string,
  TReturn = PullRow<TTable, TSchema>,
> {
  readonly #delegate: QueryDelegate | undefined;
  readonly #schema: TSchema;
  readonly #tableSchema: TableSchema;
  readonly #raw: AST;
  readonly #customQueryID: CustomQueryID | undefined;
  #complete: AST | undefined;
  #format: Format | undefined;

  constructor(
    delegate: QueryDelegate | undefined,
    schema: TSchema,
    table: TTable,
    ast?: AST,
    customQueryID?: CustomQueryID,
  ) {
    this.#delegate = delegate;
    this.#schema = schema;
    this.#tableSchema = tableSchemaOf(schema, table);
    this.#raw = ast ?? {kind: 'query', table};
    this.#customQueryID = customQueryID;
  }

  get table(): TTable {
    return this.#raw.table as TTable;
  }

  get schema(): TSchema {
    return this.#schema;
  }

  get ast(): AST {
    if (!this.#complete) {
      this.#complete = deepFreeze({
        ...this.#raw,
        orderBy: completeOrdering(this.#raw.orderBy, this.#tableSchema.primaryKey),
      });
    }
    return this.#complete;
  }

  get format(): Format {
    return (this.#format ??= deepFreeze(formatOf(this.ast)));
  }

  get customQueryID(): CustomQueryID | undefined {
    return this.#customQueryID;
  }

  hash(): string {
    return hashAST(this.ast);
  }

  #with<R = TReturn>(ast: AST, customQueryID = this.#customQueryID): QueryImpl<TSchema, TTable, R> {
    return new QueryImpl(this.#delegate, this.#schema, this.table, ast, customQueryID);
  }

  nameAndArgs(
    name: string,
    args: ReadonlyArray<ReadonlyJSONValue>,
  ): QueryImpl<TSchema, TTable, TReturn> {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('a synced query needs a non-empty name');
    }
    if (!Array.isArray(args)) {
      throw new TypeError('synced query args must be an array');
    }
    return this.#with(this.#raw, deepFreeze({name, args: structuredClone(args)}));
  }

  [delegateSymbol](delegate: QueryDelegate): QueryImpl<TSchema, TTable, TReturn> {
    return new QueryImpl(delegate, this.#schema, this.table, this.#raw, this.#customQueryID);
  }

  #column(name: unknown, what: string): string {
    if (typeof name !== 'string' || !Object.hasOwn(this.#tableSchema.columns, name)) {
      throw new TypeError(
        `${what}: unknown column ${JSON.stringify(name)} in table "${this.table}"`,
      );
    }
    return name;
  }

  #relationship(name: unknown, what: string): Relationship {
    const rels = this.#schema.relationships[this.table];
    const rel =
      typeof name === 'string' && rels && Object.hasOwn(rels, name) ? rels[name] : undefined;
    if (!rel) {
      throw new TypeError(
        `${what}: unknown relationship ${JSON.stringify(name)} of table "${this.table}"`,
      );
    }
    return rel;
  }

  /** Runs a subquery callback on a fresh query of `table` and returns its complete AST. */
  #sub(table: string, cb: ((q: AnyQuery) => unknown) | undefined, what: string): AST {
    const base = new QueryImpl(undefined, this.#schema, table);
    if (cb === undefined) return base.ast;
    const out = cb(base) as {ast?: AST} | undefined;
    const ast = out?.ast;
    if (!ast || ast.kind !== 'query' || ast.table !== table) {
      throw new TypeError(`${what}: the callback must return a query on table "${table}"`);
    }
    return ast;
  }

  #junctionAST(rel: Relationship, alias: string, where?: Condition): AST {
    const junction = tableSchemaOf(this.#schema, rel[0].destSchema);
    const ast: MutableAST = {
      kind: 'query',
      table: rel[0].destSchema,
      alias,
      orderBy: completeOrdering(undefined, junction.primaryKey),
    };
    if (where) ast.where = where;
    return ast;
  }

  readonly related = (relationship: string, cb?: (q: AnyQuery) => AnyQuery): any => {
    const rel = this.#relationship(relationship, 'related()');
    const last = rel[rel.length - 1]!;
    let dest = this.#sub(last.destSchema, cb, `related("${relationship}")`);
    dest = {...dest, alias: relationship};
    if (last.cardinality === 'one' && dest.one !== true) {
      dest = {...dest, one: true};
    }
    let entry: CorrelatedSubquery;
    if (rel.length === 1) {
      entry = {kind: 'correlated', correlation: correlation(rel[0]), subquery: dest};
    } else {
      const junction: AST = {
        ...this.#junctionAST(rel, relationship),
        related: [{kind: 'correlated', correlation: correlation(rel[1]), subquery: dest}],
      };
      entry = {
        kind: 'correlated',
        correlation: correlation(rel[0]),
        subquery: junction,
        hidden: true,
      };
    }
    const others = (this.#raw.related ?? []).filter(r => r.subquery.alias !== relationship);
    return this.#with({...this.#raw, related: [...others, entry]});
  };

  /** Builds the EXISTS condition for a relationship (used by whereExists and eb.exists). */
  protected readonly existsCondition = (
    relationship: string,
    cb?: (q: any) => any,
    _options?: ExistsOptions,
  ): Condition => {
    const rel = this.#relationship(relationship, 'exists()');
    const last = rel[rel.length - 1]!;
    const alias = `${EXISTS_ALIAS_PREFIX}${relationship}`;
    const dest: AST = {...this.#sub(last.destSchema, cb, `exists("${relationship}")`), alias};
    if (rel.length === 1) {
      return {
        kind: 'exists',
        op: 'EXISTS',
        related: {kind: 'correlated', correlation: correlation(rel[0]), subquery: dest},
      };
    }
    const inner: Condition = {
      kind: 'exists',
      op: 'EXISTS',
      related: {kind: 'correlated', correlation: correlation(rel[1]), subquery: dest},
    };
    return {
      kind: 'exists',
      op: 'EXISTS',
      related: {
        kind: 'correlated',
        correlation: correlation(rel[0]),
        subquery: this.#junctionAST(rel, alias, inner),
      },
    };
  };

  /** An ExpressionBuilder over this query's table (permissions pass `literalLeft`). */
  expressionBuilder(options?: ExpressionBuilderOptions): ExpressionBuilder<TSchema, TTable> {
    return new ExpressionBuilder(this.existsCondition, this.#tableSchema, options);
  }

  #addWhere(cond: Condition): QueryImpl<TSchema, TTable, TReturn> {
    const where = and(this.#raw.where, cond);
    const next: MutableAST = {...this.#raw};
    if (isAlwaysTrue(where)) delete next.where;
    else next.where = where;
    return this.#with(next);
  }

  readonly where = (fieldOrFactory: unknown, ...rest: unknown[]): any => {
    if (typeof fieldOrFactory === 'function') {
      const cond = (fieldOrFactory as (eb: ExpressionBuilder<TSchema, TTable>) => unknown)(
        this.expressionBuilder(),
      );
      if (cond === null || typeof cond !== 'object' || !('kind' in cond)) {
        throw new TypeError(
          'where(fn): fn must return a condition built with the expression builder',
        );
      }
      return this.#addWhere(cond as Condition);
    }
    const field = this.#column(fieldOrFactory, 'where()');
    if (rest.length === 0 || rest.length > 2) {
      throw new TypeError(
        'where() takes (column, value), (column, op, value) or (eb => condition)',
      );
    }
    return this.#addWhere(cmp(field, ...(rest as [unknown])));
  };

  readonly whereExists = (
    relationship: string,
    cbOrOptions?: ((q: AnyQuery) => AnyQuery) | ExistsOptions,
    options?: ExistsOptions,
  ): any => {
    const cb = typeof cbOrOptions === 'function' ? cbOrOptions : undefined;
    const opts = typeof cbOrOptions === 'function' ? options : cbOrOptions;
    return this.#addWhere(this.existsCondition(relationship, cb, opts));
  };

  readonly start = (row: Record<string, unknown>, opts?: {inclusive: boolean}): any => {
    if (row === null || typeof row !== 'object') {
      throw new TypeError('start() needs a row object');
    }
    const bound: Record<string, LiteralValue> = {};
    for (const [k, v] of Object.entries(row)) {
      if (v === undefined) continue;
      bound[this.#column(k, 'start()')] = toLiteral(v);
    }
    return this.#with({...this.#raw, start: {row: bound, exclusive: opts?.inclusive !== true}});
  };

  readonly limit = (limit: number): any => {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new TypeError('limit() needs a non-negative integer');
    }
    return this.#with({...this.#raw, limit});
  };

  readonly orderBy = (field: string, direction: 'asc' | 'desc'): any => {
    const col = this.#column(field, 'orderBy()');
    if (direction !== 'asc' && direction !== 'desc') {
      throw new TypeError(`orderBy(): direction must be 'asc' or 'desc'`);
    }
    const existing = (this.#raw.orderBy ?? []).filter(([c]) => c !== col);
    return this.#with({...this.#raw, orderBy: [...existing, [col, direction]]});
  };

  readonly one = (): any => {
    const limit = this.#raw.limit === undefined ? 1 : Math.min(this.#raw.limit, 1);
    return this.#with({...this.#raw, limit, one: true});
  };

  #needDelegate(what: string): QueryDelegate {
    if (!this.#delegate) {
      throw new TypeError(
        `${what}() needs a query from zero.query (this one only builds an AST, e.g. from createBuilder)`,
      );
    }
    return this.#delegate;
  }

  materialize(factoryOrTTL?: ViewFactory<unknown> | TTL, ttl?: TTL): any {
    const d = this.#needDelegate('materialize');
    return typeof factoryOrTTL === 'function'
      ? d.materialize(this, factoryOrTTL, ttl)
      : d.materialize(this, undefined, factoryOrTTL);
  }

  run(options?: RunOptions): Promise<any> {
    return this.#needDelegate('run').run(this, options);
  }

  preload(options?: PreloadOptions): {cleanup: () => void; complete: Promise<void>} {
    return this.#needDelegate('preload').preload(this, options);
  }
}

function correlation(hop: Relationship[number]): CorrelatedSubquery['correlation'] {
  return {parentField: hop.sourceField, childField: hop.destField};
}

/** A query root on `table`, optionally runnable through `delegate`. */
export function newQuery<TSchema extends Schema, TTable extends keyof TSchema['tables'] & string>(
  delegate: QueryDelegate | undefined,
  schema: TSchema,
  table: TTable,
): Query<TSchema, TTable> {
  return new QueryImpl(delegate, schema, table);
}

/** Attaches (or replaces) the delegate of a query; works across module copies. */
export function withDelegate<Q extends AnyQuery>(query: Q, delegate: QueryDelegate): Q {
  return query[delegateSymbol](delegate) as Q;
}

export type SchemaQuery<S extends Schema> = {
  readonly [K in keyof S['tables'] & string]: Query<S, K>;
};

/** Query roots for every table: `createBuilder(schema).issue.where(...)`. */
export function createBuilder<S extends Schema>(
  schema: S,
  delegate?: QueryDelegate,
): SchemaQuery<S> {
  const roots: Record<string, AnyQuery> = {};
  for (const table of Object.keys(schema.tables)) {
    roots[table] = newQuery(delegate, schema, table);
  }
  // Unknown table names are a TypeError at once; introspection (printing, awaiting,
  // JSON) must still work, so those well-known names pass through.
  return new Proxy(Object.freeze(roots), {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !Object.hasOwn(target, prop) && !passThrough(prop)) {
        throw new TypeError(`unknown table "${prop}"`);
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as unknown as SchemaQuery<S>;
}

const introspection = new Set([
  'then',
  'toJSON',
  'toString',
  'valueOf',
  'constructor',
  'asymmetricMatch',
  'nodeType',
  'inspect',
]);

function passThrough(prop: string): boolean {
  return (
    introspection.has(prop) ||
    prop.startsWith('$$') ||
    prop.startsWith('@@') ||
    prop.startsWith('__')
  );
}

/** The hash a synced query is known by on the server: its name and args. */
export function customQueryHash(id: CustomQueryID): string {
  return hashOf([id.name, id.args]);
}
