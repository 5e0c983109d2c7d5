// A materialized copy of a pipeline's output: the rows in order, with their
// relationships. Views render it; the row-set output counts the rows it holds.
import {rowKeyOf, type Row} from './data.ts';
import type {Change, Input, Node, RelationshipSchema, SourceSchema} from './operator.ts';

export type TreeNode = {
  row: Row;
  readonly rels: Map<string, TreeList>;
  /** Cached rendering; undefined when stale. */
  data: unknown;
};

export type TreeList = {
  readonly schema: SourceSchema;
  readonly rel: RelationshipSchema | undefined;
  /**
   * Ordered mode: the nodes in the list's ordering, once `settle` has placed the pending
   * ones (every read of `nodes` outside `apply` must settle first).
   */
  nodes: TreeNode[];
  /**
   * Ordered mode: added nodes not yet placed in `nodes`, in arrival order. Placing each add
   * at once costs a splice, O(length): quadratic for a large batch that does not arrive in
   * the list's order (a newest-first list during an initial sync took seconds for 100k).
   */
  pending: TreeNode[] | undefined;
  /** Keyed mode (no order needed, e.g. the row set): nodes by primary key. */
  readonly keyed: Map<string, TreeNode> | undefined;
  /** Cached rendering; undefined when stale. */
  data: unknown;
  dirty: boolean;
};

/** A list of the initial fetch and the fetch that fills it (opened when first reached). */
type HydrationFrame = {
  readonly list: TreeList;
  readonly open: () => Iterable<Node>;
  iter: Iterator<Node> | undefined;
};

/** Shared by all nodes without relationships; never written to. */
const NO_RELS: Map<string, TreeList> = new Map();

export interface TreeListener {
  enter(table: string, row: Row): void;
  leave(table: string, row: Row): void;
  edit(table: string, oldRow: Row, row: Row): void;
}

export class MaterializedTree {
  readonly root: TreeList;
  readonly #includeInternal: boolean;
  readonly #listener: TreeListener | undefined;

  readonly #keyed: boolean;
  /** The initial fetch while it runs: lists being filled, innermost last. */
  #stack: HydrationFrame[] | undefined;

  /**
   * `keyed`: keep nodes in hash maps by primary key instead of sorted arrays. `deferred`:
   * build nothing yet; the owner calls `hydrate()` until it returns true, and pushes
   * nothing into the tree meanwhile.
   */
  constructor(
    input: Input,
    includeInternal: boolean,
    listener?: TreeListener,
    keyed = false,
    deferred = false,
  ) {
    this.#keyed = keyed;
    this.#includeInternal = includeInternal;
    this.#listener = listener;
    this.root = this.#newList(input.getSchema(), undefined);
    this.#stack = [{list: this.root, open: () => input.fetch({}), iter: undefined}];
    if (!deferred) this.hydrate();
  }

  #newList(schema: SourceSchema, rel: RelationshipSchema | undefined): TreeList {
    return {
      schema,
      rel,
      nodes: [],
      pending: undefined,
      keyed: this.#keyed ? new Map<string, TreeNode>() : undefined,
      data: undefined,
      dirty: true,
    };
  }

  /**
   * Runs the initial fetch, depth first in fetch order, until it is done (true) or
   * `pause()`, asked after each row, says to stop (false; call again to resume). Nothing
   * may be pushed into the pipeline until it is done. If a fetch throws, the fetches still
   * open are closed and the error is rethrown.
   */
  hydrate(pause?: () => boolean): boolean {
    const stack = this.#stack;
    if (!stack) return true;
    try {
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as HydrationFrame;
        top.iter ??= top.open()[Symbol.iterator]();
        const next = top.iter.next();
        if (next.done) {
          stack.pop();
          continue;
        }
        const node = next.value;
        const list = top.list;
        const schema = list.schema;
        const tn = this.#newNode(schema, node);
        if (list.keyed) list.keyed.set(rowKeyOf(node.row, schema.primaryKey), tn);
        else list.nodes.push(tn);
        if (tn.rels !== NO_RELS) {
          const at = stack.length;
          for (const name in schema.relationships) {
            const rel = schema.relationships[name] as RelationshipSchema;
            if (!this.#keeps(rel)) continue;
            const child = this.#newList(rel.schema, rel);
            tn.rels.set(name, child);
            const fetch = node.relationships[name];
            // Children are filled in relationship order: the first ends up on top.
            stack.splice(at, 0, {list: child, open: fetch ?? (() => []), iter: undefined});
          }
        }
        if (pause?.()) return false;
      }
    } catch (e) {
      this.abandon();
      throw e;
    }
    this.#stack = undefined;
    return true;
  }

  /** Stops an unfinished initial fetch, closing the fetches it holds open. */
  abandon(): void {
    const stack = this.#stack;
    this.#stack = undefined;
    if (stack) for (const f of stack) f.iter?.return?.();
  }

  #buildList(
    schema: SourceSchema,
    rel: RelationshipSchema | undefined,
    nodes: Iterable<Node>,
  ): TreeList {
    const list = this.#newList(schema, rel);
    const keyed = list.keyed;
    for (const node of nodes) {
      const tn = this.#buildNode(schema, node);
      if (keyed) keyed.set(rowKeyOf(node.row, schema.primaryKey), tn);
      else list.nodes.push(tn);
    }
    return list;
  }

  /** A node for `node`'s row, announced to the listener; its relationship lists still empty. */
  #newNode(schema: SourceSchema, node: Node): TreeNode {
    let leaf = true;
    for (const _ in schema.relationships) {
      leaf = false;
      break;
    }
    const tn: TreeNode = {
      row: node.row,
      rels: leaf ? NO_RELS : new Map<string, TreeList>(),
      data: undefined,
    };
    this.#listener?.enter(schema.tableName, node.row);
    return tn;
  }

  /** Relationships the tree keeps: internal ones only when asked, serverOnly ones never. */
  #keeps(rel: RelationshipSchema): boolean {
    return !(rel.internal && !this.#includeInternal) && rel.serverOnly !== true;
  }

  #buildNode(schema: SourceSchema, node: Node): TreeNode {
    const tn = this.#newNode(schema, node);
    if (tn.rels === NO_RELS) return tn;
    for (const name in schema.relationships) {
      const rel = schema.relationships[name] as RelationshipSchema;
      if (!this.#keeps(rel)) continue;
      const fetch = node.relationships[name];
      tn.rels.set(name, this.#buildList(rel.schema, rel, fetch ? fetch() : []));
    }
    return tn;
  }

  #leave(schema: SourceSchema, tn: TreeNode): void {
    const listener = this.#listener;
    if (!listener) return;
    listener.leave(schema.tableName, tn.row);
    for (const list of tn.rels.values()) {
      settle(list);
      for (const child of list.keyed ? list.keyed.values() : list.nodes) {
        this.#leave(list.schema, child);
      }
    }
  }

  /** Applies a change to `list` (the root by default). */
  apply(change: Change, list: TreeList = this.root): void {
    if (list.keyed) {
      this.#applyKeyed(change, list, list.keyed);
      return;
    }
    const compare = list.schema.compareRows;
    list.dirty = true;
    list.data = undefined;
    if (change.type === 'add') {
      const nodes = list.nodes;
      const n = nodes.length;
      const tn = this.#buildNode(list.schema, change.node);
      // Appending (rows arriving in list order, as in an initial sync) needs no search.
      if (n === 0 || compare((nodes[n - 1] as TreeNode).row, tn.row) < 0) nodes.push(tn);
      else (list.pending ??= []).push(tn);
      return;
    }
    settle(list);
    const nodes = list.nodes;
    switch (change.type) {
      case 'remove': {
        const i = findExact(nodes, change.node.row, compare);
        const [tn] = nodes.splice(i, 1);
        this.#leave(list.schema, tn as TreeNode);
        return;
      }
      case 'edit': {
        const i = findExact(nodes, change.oldNode.row, compare);
        const tn = nodes[i] as TreeNode;
        const oldRow = tn.row;
        tn.row = change.node.row;
        tn.data = undefined;
        const before = i > 0 ? (nodes[i - 1] as TreeNode) : undefined;
        const after = i + 1 < nodes.length ? (nodes[i + 1] as TreeNode) : undefined;
        if (
          (before && compare(before.row, tn.row) > 0) ||
          (after && compare(after.row, tn.row) < 0)
        ) {
          nodes.splice(i, 1);
          nodes.splice(lowerBound(nodes, tn.row, compare), 0, tn);
        }
        this.#listener?.edit(list.schema.tableName, oldRow, tn.row);
        return;
      }
      case 'child': {
        const i = findExact(nodes, change.node.row, compare);
        const tn = nodes[i] as TreeNode;
        const childList = tn.rels.get(change.child.relationshipName);
        if (!childList) return; // an internal relationship this tree does not keep
        tn.data = undefined;
        this.apply(change.child.change, childList);
        return;
      }
    }
  }

  #applyKeyed(change: Change, list: TreeList, keyed: Map<string, TreeNode>): void {
    const pk = list.schema.primaryKey;
    switch (change.type) {
      case 'add': {
        const key = rowKeyOf(change.node.row, pk);
        if (keyed.has(key)) throw new Error(`Duplicate row added to ${list.schema.tableName}`);
        keyed.set(key, this.#buildNode(list.schema, change.node));
        return;
      }
      case 'remove': {
        const key = rowKeyOf(change.node.row, pk);
        const tn = keyed.get(key);
        if (!tn) throw new Error('Row to change is not in the view');
        keyed.delete(key);
        this.#leave(list.schema, tn);
        return;
      }
      case 'edit': {
        const tn = keyed.get(rowKeyOf(change.oldNode.row, pk));
        if (!tn) throw new Error('Row to change is not in the view');
        const oldRow = tn.row;
        tn.row = change.node.row;
        this.#listener?.edit(list.schema.tableName, oldRow, tn.row);
        return;
      }
      case 'child': {
        const tn = keyed.get(rowKeyOf(change.node.row, pk));
        if (!tn) throw new Error('Row to change is not in the view');
        const childList = tn.rels.get(change.child.relationshipName);
        if (childList) this.apply(change.child.change, childList);
        return;
      }
    }
  }
}

/**
 * Places the pending nodes of an ordered list: sorts them and merges them into `nodes`, in
 * O(length + pending·log pending). Throws on two nodes with the same row position.
 */
export function settle(list: TreeList): void {
  const pending = list.pending;
  if (!pending) return;
  list.pending = undefined;
  const compare = list.schema.compareRows;
  pending.sort((a, b) => compare(a.row, b.row));
  const nodes = list.nodes;
  const out = new Array<TreeNode>(nodes.length + pending.length);
  let i = 0;
  let j = 0;
  let o = 0;
  let last: TreeNode | undefined;
  while (i < nodes.length || j < pending.length) {
    const next =
      j === pending.length ||
      (i < nodes.length && compare((nodes[i] as TreeNode).row, (pending[j] as TreeNode).row) < 0)
        ? (nodes[i++] as TreeNode)
        : (pending[j++] as TreeNode);
    if (last && compare(last.row, next.row) === 0) {
      // Leave the list as it was before these adds.
      throw new Error(`Duplicate row added to ${list.schema.tableName}`);
    }
    out[o++] = next;
    last = next;
  }
  list.nodes = out;
}

function lowerBound(
  nodes: readonly TreeNode[],
  row: Row,
  compare: (a: Row, b: Row) => number,
): number {
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare((nodes[mid] as TreeNode).row, row) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function findExact(
  nodes: readonly TreeNode[],
  row: Row,
  compare: (a: Row, b: Row) => number,
): number {
  const i = lowerBound(nodes, row, compare);
  if (i >= nodes.length || compare((nodes[i] as TreeNode).row, row) !== 0) {
    throw new Error('Row to change is not in the view');
  }
  return i;
}
