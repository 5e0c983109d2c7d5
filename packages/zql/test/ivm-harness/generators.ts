// fast-check arbitraries for rows, change sequences and query ASTs over ./schema.ts.
import type {AST, Condition, Ordering, SimpleOperator} from '@zync/protocol';
import {SIMPLE_OPERATORS} from '@zync/protocol';
import fc from 'fast-check';
import type {Row, Value} from '../../src/ivm/data.ts';
import {
  correlation,
  INTS,
  RELATIONSHIPS,
  STRS,
  table,
  TABLES,
  type RelSpec,
  type TableSpec,
} from './schema.ts';

export type Change =
  | {readonly type: 'add'; readonly table: string; readonly row: Row}
  | {readonly type: 'remove'; readonly table: string; readonly index: number}
  | {readonly type: 'edit'; readonly table: string; readonly index: number; readonly row: Row};

export function rowArb(spec: TableSpec, scale = 1): fc.Arbitrary<Row> {
  const fields: Record<string, fc.Arbitrary<Value>> = {};
  for (const [col, kind] of Object.entries(spec.columns)) {
    fields[col] =
      kind === 'id'
        ? fc.integer({min: 1, max: spec.ids * scale})
        : kind === 'ref'
          ? fc.oneof(fc.constant(null), fc.integer({min: 1, max: 6 * scale}))
          : kind === 'int'
            ? fc.constantFrom(...INTS)
            : fc.constantFrom(...STRS);
  }
  return fc.record(fields);
}

const OPS: readonly SimpleOperator[] = SIMPLE_OPERATORS;

/** Arbitraries for one data scale: 1 for the main test, larger for deep windows. */
export function makeArbitraries(scale = 1) {
  const tablesArb: fc.Arbitrary<Record<string, Row[]>> = fc.record(
    Object.fromEntries(
      TABLES.map(t => [
        t.name,
        fc.array(rowArb(t, scale), {
          minLength: scale > 1 ? 4 * scale : 0,
          maxLength: 10 * scale,
          size: 'max',
        }),
      ]),
    ),
  );

  const changesArb: fc.Arbitrary<Change[]> = fc.array(
    fc.constantFrom(...TABLES).chain((t): fc.Arbitrary<Change> =>
      fc.oneof(
        rowArb(t, scale).map(row => ({type: 'add' as const, table: t.name, row})),
        fc.nat(50 * scale).map(index => ({type: 'remove' as const, table: t.name, index})),
        fc
          .nat(50)
          .chain(index =>
            rowArb(t, scale).map(row => ({type: 'edit' as const, table: t.name, index, row})),
          ),
      ),
    ),
    {maxLength: 25},
  );

  function simpleArb(spec: TableSpec): fc.Arbitrary<Condition> {
    const cols = Object.keys(spec.columns);
    return fc
      .record({
        col: fc.constantFrom(...cols),
        op: fc.constantFrom(...OPS),
        v: fc.constantFrom(...INTS, ...STRS),
        arr: fc.array(fc.constantFrom(...INTS, 'a', 'ab'), {maxLength: 3}),
        lit: fc.boolean(),
        litlit: fc.nat(9),
        other: fc.constantFrom(...cols),
      })
      .map(({col, op, v, arr, lit, litlit, other}): Condition => {
        if (litlit === 0)
          return {
            kind: 'simple',
            op,
            left: {kind: 'literal', value: 1},
            right: {kind: 'literal', value: v},
          };
        const right =
          op === 'IN' || op === 'NOT IN'
            ? {kind: 'literal' as const, value: arr}
            : lit
              ? {kind: 'literal' as const, value: v}
              : {kind: 'column' as const, name: other};
        return {kind: 'simple', op, left: {kind: 'column', name: col}, right};
      });
  }

  function relsFrom(name: string): RelSpec[] {
    return RELATIONSHIPS.filter(r => r.from === name);
  }

  function conditionArb(spec: TableSpec, depth: number): fc.Arbitrary<Condition> {
    const rels = relsFrom(spec.name).filter(r => !r.then);
    const leaves: fc.Arbitrary<Condition>[] = [simpleArb(spec), simpleArb(spec)];
    if (depth > 0 && rels.length > 0) {
      leaves.push(
        fc
          .record({r: fc.constantFrom(...rels), not: fc.boolean(), sub: fc.nat()})
          .chain(({r, not}) =>
            subqueryArb(table(r.to), depth - 1, false).map((sub): Condition => ({
              kind: 'exists',
              op: not ? 'NOT EXISTS' : 'EXISTS',
              related: {kind: 'correlated', correlation: correlation(r), subquery: sub},
            })),
          ),
      );
    }
    const leaf = fc.oneof(...leaves);
    if (depth === 0) return leaf;
    return fc.oneof(
      {weight: 3, arbitrary: leaf},
      {
        weight: 1,
        arbitrary: fc
          .array(leaf, {minLength: 1, maxLength: 3})
          .map((conditions): Condition => ({kind: 'and', conditions})),
      },
      {
        weight: 1,
        arbitrary: fc
          .array(leaf, {minLength: 1, maxLength: 3})
          .map((conditions): Condition => ({kind: 'or', conditions})),
      },
    );
  }

  function orderingArb(spec: TableSpec): fc.Arbitrary<Ordering> {
    const cols = Object.keys(spec.columns);
    return fc
      .uniqueArray(fc.constantFrom(...cols), {maxLength: 2})
      .chain(cs =>
        fc.tuple(
          ...cs.map(c =>
            fc.constantFrom('asc' as const, 'desc' as const).map(d => [c, d] as const),
          ),
        ),
      );
  }

  function subqueryArb(spec: TableSpec, depth: number, withRelated: boolean): fc.Arbitrary<AST> {
    const rels = relsFrom(spec.name);
    return fc
      .record({
        where: fc.option(conditionArb(spec, depth), {nil: undefined, freq: 2}),
        orderBy: fc.option(orderingArb(spec), {nil: undefined}),
        limit: fc.option(fc.nat(4 * scale), {nil: undefined, freq: 2}),
        start: fc.oneof(
          {weight: 4, arbitrary: fc.constant(undefined)},
          {
            weight: 1,
            arbitrary: fc.record({
              row: rowArb(spec, scale),
              exclusive: fc.boolean(),
              partial: fc.boolean(),
            }),
          },
        ),
        related:
          withRelated && depth > 0
            ? fc.array(fc.constantFrom(...rels), {maxLength: 2})
            : fc.constant([] as RelSpec[]),
      })
      .chain(q =>
        fc.tuple(...q.related.map(r => relatedArb(r, depth - 1))).map(related => {
          const ast: {-readonly [K in keyof AST]: AST[K]} = {kind: 'query', table: spec.name};
          if (q.where) ast.where = q.where;
          if (q.orderBy) ast.orderBy = q.orderBy;
          if (q.limit !== undefined) ast.limit = q.limit;
          if (q.start) {
            const ordering = [...(q.orderBy ?? []).map(o => o[0]), ...spec.primaryKey];
            const cols = q.start.partial ? ordering.slice(0, 1) : ordering;
            ast.start = {
              row: Object.fromEntries(cols.map(c => [c, q.start!.row[c] ?? null])),
              exclusive: q.start.exclusive,
            };
          }
          // Distinct aliases: two relationships of one name would collide in the result.
          const seen = new Set<string>();
          const rs = related.filter(r => {
            const n = r.subquery.alias ?? '';
            if (seen.has(n)) return false;
            seen.add(n);
            return true;
          });
          if (rs.length) ast.related = rs;
          return ast;
        }),
      );
  }

  function relatedArb(
    r: RelSpec,
    depth: number,
  ): fc.Arbitrary<NonNullable<AST['related']>[number]> {
    if (r.then) {
      const hop = r.then;
      return subqueryArb(table(hop.to), Math.max(depth, 0), false).map(target => ({
        kind: 'correlated' as const,
        correlation: correlation(r),
        hidden: true,
        subquery: {
          kind: 'query' as const,
          table: r.to,
          alias: r.name,
          related: [
            {
              kind: 'correlated' as const,
              correlation: correlation(hop),
              subquery: {...target, alias: hop.name},
            },
          ],
        },
      }));
    }
    return fc
      .record({one: fc.boolean(), sub: subqueryArb(table(r.to), Math.max(depth, 0), depth > 0)})
      .map(({one, sub}) => ({
        kind: 'correlated' as const,
        correlation: correlation(r),
        subquery: {...sub, alias: r.name, ...(r.one && one ? {one: true} : {})},
      }));
  }

  const queryArb: fc.Arbitrary<AST> = fc
    .constantFrom('issue', 'comment', 'user')
    .chain(name => fc.tuple(subqueryArb(table(name), 2, true), fc.integer({min: 0, max: 9})))
    .map(([ast, k]) => (k === 0 ? {...ast, one: true} : ast));
  return {tablesArb, changesArb, queryArb};
}
