// Which tables' select rules read the claims. Needed in opaque-token mode (no ZERO_AUTH_*
// key): zero-cache cannot know the claims of a token it never decodes, so a query over
// such a table is refused rather than filtered as if the user were anonymous.
//
// Detection: every select rule is run once with a Proxy over `{}` as its `authData`; any
// read of it (a property, `in`, key listing) marks the rule's table as needing claims. A
// rule that reads nothing from `authData` cannot depend on it, so the test is exact for
// rules that depend only on their arguments; a rule that reads a claim it then ignores
// still counts (conservative).
import {bindPermissions, type DefinedPermissions, type StoredRule} from '@zync/zql';

function recorder(target: object, touched: () => void): object {
  return new Proxy(target, {
    get(t, p, r) {
      touched();
      return Reflect.get(t, p, r) as unknown;
    },
    has(t, p) {
      touched();
      return Reflect.has(t, p);
    },
    ownKeys(t) {
      touched();
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, p) {
      touched();
      return Reflect.getOwnPropertyDescriptor(t, p);
    },
  });
}

/** The tables (client names) whose select policy reads `authData` in any rule. */
export function tablesWhoseSelectReadsClaims(defined: DefinedPermissions): ReadonlySet<string> {
  const out = new Set<string>();
  const tables: Record<string, DefinedPermissions['tables'][string]> = {};
  for (const [table, entry] of Object.entries(defined.tables)) {
    const select = entry?.row?.select;
    if (!select) continue;
    const wrapped: StoredRule[] = select.map(
      rule => (authData, eb) =>
        rule(
          recorder(authData as object, () => out.add(table)),
          eb,
        ),
    );
    tables[table] = {row: {select: wrapped}};
  }
  const probe = bindPermissions({...defined, tables}, {});
  for (const table of Object.keys(tables)) probe.selectCondition(table);
  return out;
}

/**
 * The columns whose cell select policy reads `authData` in any rule, as
 * `${table}\u0000${column}` (client names). Detected the same way as for tables.
 */
export function cellsWhoseSelectReadsClaims(defined: DefinedPermissions): ReadonlySet<string> {
  const out = new Set<string>();
  const tables: Record<string, DefinedPermissions['tables'][string]> = {};
  for (const [table, entry] of Object.entries(defined.tables)) {
    const cells: Record<string, {select: StoredRule[]}> = {};
    for (const [column, policies] of Object.entries(entry?.cell ?? {})) {
      const select = policies?.select;
      if (!select) continue;
      const key = `${table}\u0000${column}`;
      cells[column] = {
        select: select.map(
          rule => (authData, eb) =>
            rule(
              recorder(authData as object, () => out.add(key)),
              eb,
            ),
        ),
      };
    }
    if (Object.keys(cells).length > 0) tables[table] = {cell: cells};
  }
  const probe = bindPermissions({...defined, tables}, {});
  for (const [table, entry] of Object.entries(tables)) {
    for (const column of Object.keys(entry?.cell ?? {})) {
      probe.cellCondition(table, column, 'select');
    }
  }
  return out;
}
