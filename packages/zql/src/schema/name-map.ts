// Client names (what the app writes) ↔ server names (`.from()`, what Postgres, the wire
// and zero-cache use). Mapping also validates: an unknown table or column is a TypeError.
import type {
  AST,
  Bound,
  Condition,
  CorrelatedSubquery,
  LiteralValue,
  Ordering,
  ValuePosition,
} from '@zync/protocol';
import type {Schema} from './schema.ts';

export type NameDirection = 'server' | 'client';

/** Renames the tables and columns of one direction. */
export type NameMapper = {
  /** The table's name in the target naming; TypeError for an unknown table. */
  tableName(table: string): string;
  /** The column's name in the target naming; TypeError for an unknown column. */
  columnName(table: string, column: string): string;
  /** A copy of `row` with its keys renamed (unknown keys are a TypeError). */
  row<V>(table: string, row: Readonly<Record<string, V>>): Record<string, V>;
  columns(table: string, cols: readonly string[]): string[];
};

type Names = {readonly name: string; readonly columns: ReadonlyMap<string, string>};

const cache = new WeakMap<object, {server: NameMapper; client: NameMapper}>();

function build(schema: Pick<Schema, 'tables'>): {server: NameMapper; client: NameMapper} {
  const toServer = new Map<string, Names>();
  const toClient = new Map<string, Names>();
  for (const [clientTable, t] of Object.entries(schema.tables)) {
    const serverTable = t.serverName ?? clientTable;
    const c2s = new Map<string, string>();
    const s2c = new Map<string, string>();
    for (const [clientCol, col] of Object.entries(t.columns)) {
      const serverCol = col.serverName ?? clientCol;
      c2s.set(clientCol, serverCol);
      s2c.set(serverCol, clientCol);
    }
    toServer.set(clientTable, {name: serverTable, columns: c2s});
    toClient.set(serverTable, {name: clientTable, columns: s2c});
  }
  return {server: mapper(toServer, 'client'), client: mapper(toClient, 'server')};
}

function mapper(names: ReadonlyMap<string, Names>, from: string): NameMapper {
  const tableNames = (table: string): Names => {
    const t = names.get(table);
    if (!t) {
      throw new TypeError(`unknown ${from} table "${table}"`);
    }
    return t;
  };
  const columnName = (table: string, column: string): string => {
    const c = tableNames(table).columns.get(column);
    if (c === undefined) {
      throw new TypeError(`unknown ${from} column "${column}" in table "${table}"`);
    }
    return c;
  };
  return {
    tableName: table => tableNames(table).name,
    columnName,
    row(table, row) {
      const out: Record<string, (typeof row)[string]> = {};
      for (const [k, v] of Object.entries(row)) {
        out[columnName(table, k)] = v;
      }
      return out;
    },
    columns: (table, cols) => cols.map(c => columnName(table, c)),
  };
}

function mappers(schema: Pick<Schema, 'tables'>): {server: NameMapper; client: NameMapper} {
  let m = cache.get(schema);
  if (!m) {
    m = build(schema);
    cache.set(schema, m);
  }
  return m;
}

/** Client names → server names. */
export function clientToServer(schema: Pick<Schema, 'tables'>): NameMapper {
  return mappers(schema).server;
}

/** Server names → client names. */
export function serverToClient(schema: Pick<Schema, 'tables'>): NameMapper {
  return mappers(schema).client;
}

/**
 * Renames an AST into `to` naming ('server': from client names to server names; 'client':
 * the reverse). Tables, where-columns, orderBy, start, correlations and related subqueries
 * are all renamed; literals and aliases (relationship names) are kept.
 */
export function mapAST(ast: AST, schema: Pick<Schema, 'tables'>, to: NameDirection): AST {
  const m = to === 'server' ? clientToServer(schema) : serverToClient(schema);
  return mapQuery(ast, m);
}

/** Renames one row's columns; `table` is in the source naming. */
export function mapRow<V>(
  table: string,
  row: Readonly<Record<string, V>>,
  schema: Pick<Schema, 'tables'>,
  to: NameDirection,
): Record<string, V> {
  const m = to === 'server' ? clientToServer(schema) : serverToClient(schema);
  return m.row(table, row);
}

function mapQuery(ast: AST, m: NameMapper): AST {
  const table = ast.table;
  const out: {-readonly [K in keyof AST]: AST[K]} = {kind: 'query', table: m.tableName(table)};
  if (ast.alias !== undefined) out.alias = ast.alias;
  if (ast.where !== undefined) out.where = mapCondition(ast.where, table, m);
  if (ast.related !== undefined) out.related = ast.related.map(r => mapCorrelated(r, table, m));
  if (ast.start !== undefined) out.start = mapBound(ast.start, table, m);
  if (ast.limit !== undefined) out.limit = ast.limit;
  if (ast.orderBy !== undefined) out.orderBy = mapOrdering(ast.orderBy, table, m);
  if (ast.one !== undefined) out.one = ast.one;
  return out;
}

function mapOrdering(o: Ordering, table: string, m: NameMapper): Ordering {
  return o.map(([col, dir]) => [m.columnName(table, col), dir] as const);
}

function mapBound(b: Bound, table: string, m: NameMapper): Bound {
  return {row: m.row<LiteralValue>(table, b.row), exclusive: b.exclusive};
}

function mapCorrelated(c: CorrelatedSubquery, parent: string, m: NameMapper): CorrelatedSubquery {
  const child = c.subquery.table;
  const out: {-readonly [K in keyof CorrelatedSubquery]: CorrelatedSubquery[K]} = {
    kind: 'correlated',
    correlation: {
      parentField: m.columns(parent, c.correlation.parentField),
      childField: m.columns(child, c.correlation.childField),
    },
    subquery: mapQuery(c.subquery, m),
  };
  if (c.hidden !== undefined) out.hidden = c.hidden;
  if (c.serverOnly !== undefined) out.serverOnly = c.serverOnly;
  return out;
}

function mapValue(v: ValuePosition, table: string, m: NameMapper): ValuePosition {
  return v.kind === 'column' ? {kind: 'column', name: m.columnName(table, v.name)} : v;
}

function mapCondition(c: Condition, table: string, m: NameMapper): Condition {
  switch (c.kind) {
    case 'simple':
      return {
        kind: 'simple',
        op: c.op,
        left: mapValue(c.left, table, m),
        right: mapValue(c.right, table, m),
      };
    case 'and':
    case 'or':
      return {kind: c.kind, conditions: c.conditions.map(x => mapCondition(x, table, m))};
    case 'exists':
      return {kind: 'exists', op: c.op, related: mapCorrelated(c.related, table, m)};
  }
}
