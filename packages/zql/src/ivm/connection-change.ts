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

/** The rows a push adds and removes, as seen by a connection while it is pushed to. */
export type PushOverlay = {readonly add: Row | undefined; readonly remove: Row | undefined};

/** A source connection, as `pushToConnections` drives it. */
export interface PushTarget {
  changesSplitKey(oldRow: Row, row: Row): boolean;
  pushChange(type: 'add' | 'remove' | 'edit', row: Row, oldRow: Row | undefined): void;
}

/**
 * Sends one source change (`added` and/or `removed`) to every connection, in order. An
 * edit that changes the primary key, or moves the row across a connection's split key,
 * reaches that connection as a remove then an add. Before each call, `seen(conn, overlay)`
 * tells the source which version of the row that connection sees while it is pushed to
 * (the removed row only during the remove half, else both), so fetches made during the
 * push answer consistently. Shared by every Source so that they agree exactly.
 */
export function pushToConnections<C extends PushTarget>(
  connections: readonly C[],
  added: Row | undefined,
  removed: Row | undefined,
  pkChanged: boolean,
  seen: (conn: C, overlay: PushOverlay) => void,
): void {
  const full: PushOverlay = {add: added, remove: removed};
  // The connections as they were when the push began (one: no copy needed).
  const n = connections.length;
  if (n === 1) pushTo(connections[0] as C, added, removed, pkChanged, full, seen);
  else for (const conn of connections.slice()) pushTo(conn, added, removed, pkChanged, full, seen);
}

function pushTo<C extends PushTarget>(
  conn: C,
  added: Row | undefined,
  removed: Row | undefined,
  pkChanged: boolean,
  full: PushOverlay,
  seen: (conn: C, overlay: PushOverlay) => void,
): void {
  if (added && removed) {
    if (pkChanged || conn.changesSplitKey(removed, added)) {
      seen(conn, {add: undefined, remove: removed});
      conn.pushChange('remove', removed, undefined);
      seen(conn, full);
      conn.pushChange('add', added, undefined);
    } else {
      seen(conn, full);
      conn.pushChange('edit', added, removed);
    }
  } else {
    seen(conn, full);
    conn.pushChange(added ? 'add' : 'remove', (added ?? removed) as Row, undefined);
  }
}
