// The reference evaluator: computes a query's result tree from scratch, with no
// incremental logic at all. It is the oracle the engine is tested against.
import type {AST, Bound, Condition, CorrelatedSubquery} from '@zync/protocol';
import {unreachable} from '@zync/shared';
import {evalSimple} from './condition.ts';
import {
  compareValues,
  completeOrdering,
  makeComparator,
  type PrimaryKey,
  type Row,
  type Value,
} from './data.ts';

export type Tables = Readonly<Record<string, readonly Row[]>>;
export type ResultRow = Record<string, unknown>;

export function evaluate(
  ast: AST,
  tables: Tables,
  primaryKeys: Readonly<Record<string, PrimaryKey>> = {},
): readonly ResultRow[] | ResultRow | undefined {
  const rows = evalQuery(ast, tables, primaryKeys, undefined);
  return ast.one ? rows[0] : rows;
}

type Parent = {readonly row: Row; readonly correlation: CorrelatedSubquery['correlation']};

function selectRows(
  ast: AST,
  tables: Tables,
  pks: Readonly<Record<string, PrimaryKey>>,
  parent: Parent | undefined,
): Row[] {
  let rows = [...(tables[ast.table] ?? [])];
  if (parent) {
    const {parentField, childField} = parent.correlation;
    rows = rows.filter(r =>
      parentField.every((pf, i) => {
        const pv = parent.row[pf];
        return pv !== null && pv !== undefined && r[childField[i] as string] === pv;
      }),
    );
  }
  rows = rows.filter(r => evalCondition(ast.where, r, tables, pks));
  const ordering = completeOrdering(ast.orderBy, pks[ast.table] ?? ['id']);
  rows.sort(makeComparator(ordering));
  if (ast.start) {
    const start = ast.start;
    rows = rows.filter(r => !beforeBound(r, start, ordering));
  }
  const limit = ast.one ? Math.min(ast.limit ?? 1, 1) : ast.limit;
  if (limit !== undefined) rows = rows.slice(0, limit);
  return rows;
}

function beforeBound(
  row: Row,
  bound: Bound,
  ordering: readonly (readonly [string, string])[],
): boolean {
  for (const [col, dir] of ordering) {
    if (!(col in bound.row)) continue;
    const c = compareValues(row[col] as Value, bound.row[col] as Value);
    if (c !== 0) return (dir === 'asc' ? c : -c) < 0;
  }
  return bound.exclusive;
}

function evalQuery(
  ast: AST,
  tables: Tables,
  pks: Readonly<Record<string, PrimaryKey>>,
  parent: Parent | undefined,
): ResultRow[] {
  return selectRows(ast, tables, pks, parent).map(row => {
    if (!ast.related?.length) return row;
    const out: ResultRow = {...row};
    for (const r of ast.related) {
      const name = r.subquery.alias ?? r.subquery.table;
      let children = evalQuery(r.subquery, tables, pks, {row, correlation: r.correlation});
      if (r.hidden) children = flatten(children, r.subquery);
      out[name] = r.subquery.one ? children[0] : children;
    }
    return out;
  });
}

function flatten(junctionRows: readonly ResultRow[], junction: AST): ResultRow[] {
  const out: ResultRow[] = [];
  for (const j of junctionRows) {
    for (const inner of junction.related ?? []) {
      const v = j[inner.subquery.alias ?? inner.subquery.table];
      if (Array.isArray(v)) out.push(...(v as ResultRow[]));
      else if (v !== undefined) out.push(v as ResultRow);
    }
  }
  return out;
}

function evalCondition(
  cond: Condition | undefined,
  row: Row,
  tables: Tables,
  pks: Readonly<Record<string, PrimaryKey>>,
): boolean {
  if (!cond) return true;
  switch (cond.kind) {
    case 'simple': {
      const l = cond.left.kind === 'column' ? (row[cond.left.name] ?? null) : cond.left.value;
      const r = cond.right.kind === 'column' ? (row[cond.right.name] ?? null) : cond.right.value;
      return evalSimple(cond.op, l, r);
    }
    case 'and':
      return cond.conditions.every(c => evalCondition(c, row, tables, pks));
    case 'or':
      return cond.conditions.some(c => evalCondition(c, row, tables, pks));
    case 'exists': {
      const found =
        selectRows(cond.related.subquery, tables, pks, {row, correlation: cond.related.correlation})
          .length > 0;
      return cond.op === 'EXISTS' ? found : !found;
    }
    default:
      return unreachable(cond);
  }
}
