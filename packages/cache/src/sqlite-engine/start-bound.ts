// The SQL bound that makes a fetch start at (or after) a row of its ordering.
import {quoteIdent} from '@zync/shared';
import type {Ordering} from '@zync/protocol';
import {
  isOrderSafe,
  matchesKind,
  toParam,
  type ColumnKinds,
  type SqlParam,
} from './sqlite-filter.ts';
import type {Row, Value} from '@zync/zql/ivm';

/**
 * `(ordering) >= / > (start)` in iteration direction, with the engine's null order
 * (null first ascending). Undefined when a start value's type differs from its column's
 * (SQLite would coerce it); the caller then skips in JS.
 */
export function startBound(
  ordering: Ordering,
  kinds: ColumnKinds,
  startRow: Row,
  after: boolean,
  reverse: boolean,
): {sql: string; params: SqlParam[]; key: string} | undefined {
  const cols: {name: string; asc: boolean; v: Value}[] = [];
  let key = after ? 'a' : 's';
  for (const [name, d] of ordering) {
    const v = startRow[name];
    if (v === undefined) return undefined;
    const kind = kinds[name];
    if (v !== null && (kind === undefined || !matchesKind(kind, v))) return undefined;
    if (typeof v === 'string' && !isOrderSafe(v)) return undefined;
    const asc = (d === 'asc') !== reverse;
    cols.push({name, asc, v});
    key += (asc ? '+' : '-') + (v === null ? 'n' : 'v');
  }
  const params: SqlParam[] = [];
  if (cols.every(c => c.asc && c.v !== null)) {
    // Row-value comparison: SQLite seeks the index directly.
    for (const c of cols) params.push(toParam(c.v));
    const names = cols.map(c => quoteIdent(c.name)).join(', ');
    return {
      sql: `(${names}) ${after ? '>' : '>='} (${cols.map(() => '?').join(', ')})`,
      params,
      key: key + 'R',
    };
  }
  // Expanded: c1 ≻ v1 OR (c1 = v1 AND (c2 ≻ v2 OR (c2 = v2 AND ...))).
  const build = (i: number): string => {
    const c = cols[i];
    if (!c) return after ? '0' : '1';
    const col = quoteIdent(c.name);
    let gt: string;
    let eq: string;
    if (c.v === null) {
      gt = c.asc ? `${col} IS NOT NULL` : '0';
      eq = `${col} IS NULL`;
    } else {
      params.push(toParam(c.v));
      gt = c.asc ? `${col} > ?` : `(${col} < ? OR ${col} IS NULL)`;
      params.push(toParam(c.v));
      eq = `${col} = ?`;
    }
    return `(${gt} OR (${eq} AND ${build(i + 1)}))`;
  };
  const sql = build(0);
  const first = cols[0];
  // A leading range term lets SQLite seek the index on the first column.
  if (first && first.asc && first.v !== null) {
    return {
      sql: `${quoteIdent(first.name)} >= ? AND ${sql}`,
      params: [toParam(first.v), ...params],
      key,
    };
  }
  return {sql, params, key};
}
