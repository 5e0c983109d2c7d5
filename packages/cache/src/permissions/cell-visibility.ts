// Cell select rules on the read path. A column whose cell select policy does not allow a
// row is left out of that row before it enters the CVR, so it never reaches a client (in
// the initial sync, a poke or an advance). The policy is a condition over the row, like a
// row rule, and is evaluated on each row (with the row's full values) each time the row
// is sent; a policy that needs other rows (an EXISTS) hides its column in every row.
import type {Condition, RowValue} from '@zync/protocol';
import {stableStringify} from '@zync/shared';
import {
  clientToServer,
  evaluateCondition,
  FALSE,
  isAlwaysTrue,
  mapAST,
  type DefinedPermissions,
} from '@zync/zql';
import type {CellMask} from '../view-syncer/group-client.ts';

/** One column that some rows hide: visible in a row only where `allowed` holds. */
export type CellRule = {
  /** Client names. */
  readonly table: string;
  readonly column: string;
  /** Over the table's row, client names (TRUE: always visible, then leave it out). */
  readonly allowed: Condition;
};

type ServerRule = {readonly column: string; readonly allowed: Condition};

/** The mask that hides per `rules`; undefined when no rule hides anything. */
export function cellMask(rules: readonly CellRule[], schema: DefinedPermissions['schema']) {
  const toServer = clientToServer(schema);
  const byTable = new Map<string, ServerRule[]>();
  const keyParts: unknown[] = [];
  for (const r of rules) {
    if (isAlwaysTrue(r.allowed)) continue;
    const table = toServer.tableName(r.table);
    const column = toServer.columnName(r.table, r.column);
    // A condition over other rows cannot be answered from this row: hidden everywhere.
    const own = containsExists(r.allowed) ? FALSE : r.allowed;
    const mapped = mapAST({kind: 'query', table: r.table, where: own}, schema, 'server');
    const allowed = mapped.where ?? own;
    let list = byTable.get(table);
    if (!list) byTable.set(table, (list = []));
    list.push({column, allowed});
    keyParts.push([table, column, allowed]);
  }
  if (byTable.size === 0) return undefined;
  const mask: CellMask = {
    key: stableStringify(keyParts),
    hidden(table: string, row: RowValue): readonly string[] {
      const list = byTable.get(table);
      if (!list) return [];
      const out: string[] = [];
      for (const {column, allowed} of list) {
        if (Object.hasOwn(row, column) && !evaluateCondition(allowed, row)) out.push(column);
      }
      return out;
    },
  };
  return mask;
}

/** Every column of `tables` (client names) that has a cell select policy, hidden in every row. */
export function strictestCellRules(
  permissions: DefinedPermissions,
  tables: Iterable<string>,
): CellRule[] {
  const out: CellRule[] = [];
  for (const table of tables) {
    for (const [column, p] of Object.entries(permissions.tables[table]?.cell ?? {})) {
      if (p?.select !== undefined) out.push({table, column, allowed: FALSE});
    }
  }
  return out;
}

function containsExists(c: Condition): boolean {
  switch (c.kind) {
    case 'simple':
      return false;
    case 'and':
    case 'or':
      return c.conditions.some(containsExists);
    case 'exists':
      return true;
  }
}
