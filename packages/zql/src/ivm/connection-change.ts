// What one source connection emits for a row change, shared by every Source
// implementation so that they agree exactly (see docs/ivm.md, "Edits").
import type {RowPredicate} from './condition.ts';
import type {Row} from './data.ts';
import {NO_RELATIONSHIPS, type Change, type Node} from './operator.ts';

/** Whether an edit changes one of the columns that split it into remove + add. */
export function splitKeyChanged(keys: readonly string[], oldRow: Row, row: Row): boolean {
  for (const k of keys) if (oldRow[k] !== row[k]) return true;
  return false;
}

/**
 * The change a connection with the pushed-down `filter` emits (undefined: none). An edit
 * that enters or leaves the filter becomes an add or a remove.
 */
export function filteredChange(
  type: 'add' | 'remove' | 'edit',
  row: Row,
  oldRow: Row | undefined,
  filter: RowPredicate | undefined,
): Change | undefined {
  const pass = !filter || filter(row);
  if (type === 'edit') {
    const oldPass = !filter || filter(oldRow as Row);
    const oldNode: Node = {row: oldRow as Row, relationships: NO_RELATIONSHIPS};
    const node: Node = {row, relationships: NO_RELATIONSHIPS};
    if (pass && oldPass) return {type: 'edit', oldNode, node};
    if (pass) return {type: 'add', node};
    if (oldPass) return {type: 'remove', node: oldNode};
    return undefined;
  }
  return pass ? {type, node: {row, relationships: NO_RELATIONSHIPS}} : undefined;
}
