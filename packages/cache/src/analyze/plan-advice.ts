// Reads SQLite's plans of the statements a query issued and names the indexes it lacks:
// a statement that SCANs its table (whole, in rowid or some index's order) although the
// query constrains columns of it, or that sorts the whole table in a temporary B-tree, and
// no index of the table starts with those columns. The fix is an index upstream: the
// replica mirrors Postgres's indexes (docs/replica.md), so the suggestion is Postgres DDL.
import {quoteIdent} from '@zync/shared';
import type {AccessShape} from './access-recorder.ts';
import type {PlanStep, ReplicaIndex, RunStatement} from './replica-run.ts';

export type TableAccess = 'search' | 'scan' | 'unknown';

export type MissingIndex = {
  readonly table: string;
  /** The columns to index, in order (server names). */
  readonly columns: readonly string[];
  /** Why: which columns the scanning statements constrain or order by. */
  readonly reason: string;
  /** Postgres DDL for the upstream database. */
  readonly createIndex: string;
  /** Rows those statements read from SQLite. */
  readonly rowsRead: number;
  /** Rows in the table: what each of those scans goes through. */
  readonly tableRows: number;
  /** The statements (SQL) that scan for want of it. */
  readonly statements: readonly string[];
};

/** How a statement's plan reaches its table: an index search, or a scan. */
export function tableAccess(plan: readonly PlanStep[]): TableAccess {
  if (plan.some(p => /^SEARCH /.test(p.detail))) return 'search';
  if (plan.some(p => /^SCAN /.test(p.detail))) return 'scan';
  return 'unknown';
}

/** Whether the plan sorts rows in a temporary B-tree for the ORDER BY. */
export function sortsInTempTree(plan: readonly PlanStep[]): boolean {
  return plan.some(p => /TEMP B-TREE FOR .*ORDER BY/.test(p.detail));
}

/** The columns an index should start with to serve `shape`, with a reason; or undefined. */
function wanted(
  shape: AccessShape,
  plan: readonly PlanStep[],
  primaryKey: ReadonlySet<string>,
): {columns: string[]; reason: string} | undefined {
  if (tableAccess(plan) !== 'scan') return undefined;
  const order = shape.order.filter(c => !primaryKey.has(c));
  const eq = shape.equality;
  if (eq.length > 0 || shape.range.length > 0) {
    // Equality columns first; then one range column, or else the ordering (which the
    // index then also returns rows in).
    const rest = shape.range.length > 0 ? [shape.range[0]!] : order;
    const columns = unique([...eq, ...rest]);
    const filtered = unique([...eq, ...shape.range]);
    return {
      columns,
      reason: `filters on ${filtered.join(', ')} but SQLite scans the whole table`,
    };
  }
  if (sortsInTempTree(plan) && order.length > 0) {
    return {
      columns: order,
      reason: `orders by ${order.join(', ')}, which SQLite sorts the whole table for`,
    };
  }
  return undefined;
}

function unique(cols: readonly string[]): string[] {
  return [...new Set(cols)];
}

/** An index whose leading columns are `columns` (in any order), if the table has one. */
function covering(
  indexes: readonly ReplicaIndex[],
  columns: readonly string[],
): ReplicaIndex | undefined {
  const want = new Set(columns);
  return indexes.find(i => {
    const lead = i.columns.slice(0, columns.length);
    return lead.length === columns.length && lead.every(c => want.has(c));
  });
}

export function createIndexDDL(table: string, columns: readonly string[]): string {
  return `CREATE INDEX ON ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')});`;
}

export type TableFacts = {
  readonly indexes: ReadonlyMap<string, readonly ReplicaIndex[]>;
  /** Each table's primary key (the replica appends it to every index it mirrors). */
  readonly primaryKeys: ReadonlyMap<string, readonly string[]>;
  readonly tableRows: ReadonlyMap<string, number>;
};

/** The missing indexes of a run, one per (table, columns), the largest table first. */
export function missingIndexes(
  statements: readonly RunStatement[],
  {indexes, primaryKeys, tableRows}: TableFacts,
): MissingIndex[] {
  const found = new Map<
    string,
    {table: string; columns: string[]; reason: string; rowsRead: number; statements: string[]}
  >();
  for (const s of statements) {
    if (!s.shape) continue;
    const pk = new Set(primaryKeys.get(s.table) ?? []);
    const w = wanted(s.shape, s.plan, pk);
    if (!w || w.columns.length === 0) continue;
    if (covering(indexes.get(s.table) ?? [], w.columns)) continue;
    const key = JSON.stringify([s.table, w.columns]);
    let m = found.get(key);
    if (!m) {
      m = {table: s.table, columns: w.columns, reason: w.reason, rowsRead: 0, statements: []};
      found.set(key, m);
    }
    m.rowsRead += s.rowsRead;
    m.statements.push(s.sql);
  }
  return [...found.values()]
    .map(m => ({
      ...m,
      tableRows: tableRows.get(m.table) ?? 0,
      createIndex: createIndexDDL(m.table, m.columns),
    }))
    .sort((a, b) => b.tableRows - a.tableRows || b.rowsRead - a.rowsRead);
}
