// Join: attaches relationship `relationshipName` to every parent node: the child nodes
// whose `childKey` columns equal the parent's `parentKey` columns (SQL equality: a null
// key joins nothing). Child changes become `child` changes of every matching parent.
import type {Comparator, Row, Value} from './data.ts';
import {
  NULL_OUTPUT,
  type Change,
  type FetchRequest,
  type Input,
  type Node,
  type Output,
  type RelationshipSchema,
  type SourceSchema,
} from './operator.ts';

export type JoinArgs = {
  readonly parent: Input;
  readonly child: Input;
  readonly parentKey: readonly string[];
  readonly childKey: readonly string[];
  readonly relationshipName: string;
  readonly hidden: boolean;
  readonly internal: boolean;
  readonly singular: boolean;
  /** See RelationshipSchema.serverOnly. */
  readonly serverOnly?: boolean | undefined;
};

export class Join implements Input {
  readonly #parent: Input;
  readonly #child: Input;
  readonly #parentKey: readonly string[];
  readonly #childKey: readonly string[];
  readonly #name: string;
  readonly #schema: SourceSchema;
  readonly #compareParents: Comparator;
  readonly #compareChildren: Comparator;
  /**
   * While a child change is pushed to its parents one by one, the parents not reached yet
   * must still see their relationship without it (else an operator below could read a
   * parent's new state before that parent's change arrives).
   */
  #inProgress: {readonly change: Change; readonly childRow: Row; current: Row} | undefined;
  #output: Output = NULL_OUTPUT;

  constructor(args: JoinArgs) {
    this.#parent = args.parent;
    this.#child = args.child;
    this.#parentKey = args.parentKey;
    this.#childKey = args.childKey;
    this.#name = args.relationshipName;
    const parentSchema = args.parent.getSchema();
    this.#compareParents = parentSchema.compareRows;
    this.#compareChildren = args.child.getSchema().compareRows;
    const rel: RelationshipSchema = {
      schema: args.child.getSchema(),
      hidden: args.hidden,
      internal: args.internal,
      singular: args.singular,
      ...(args.serverOnly === true ? {serverOnly: true} : {}),
    };
    this.#schema = {
      ...parentSchema,
      relationships: {...parentSchema.relationships, [args.relationshipName]: rel},
    };
    args.parent.setOutput({push: change => this.#pushParent(change)});
    args.child.setOutput({push: change => this.#pushChild(change)});
  }

  getSchema(): SourceSchema {
    return this.#schema;
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#parent.destroy();
    this.#child.destroy();
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    for (const node of this.#parent.fetch(req)) yield this.#wrap(node);
  }

  cleanup(constraint: Readonly<Record<string, Value>>, stillAsked: () => boolean): void {
    this.#parent.cleanup?.(constraint, stillAsked);
  }

  /**
   * A parent left: unless another parent has its join key, the child's operators may drop
   * what they keep for that key (a Take's window per parent would otherwise stay for as
   * long as the query, for every parent that ever passed through).
   */
  #parentLeft(row: Row): void {
    const child = this.#child;
    if (!child.cleanup) return;
    const parentConstraint: Record<string, Value> = {};
    const childConstraint: Record<string, Value> = {};
    for (let i = 0; i < this.#parentKey.length; i++) {
      const v = row[this.#parentKey[i] as string];
      if (v === null || v === undefined) return;
      parentConstraint[this.#parentKey[i] as string] = v;
      childConstraint[this.#childKey[i] as string] = v;
    }
    child.cleanup(childConstraint, () => {
      for (const _ of this.#parent.fetch({constraint: parentConstraint})) return true;
      return false;
    });
  }

  #wrap(node: Node): Node {
    const row = node.row;
    const child = this.#child;
    const parentKey = this.#parentKey;
    const childKey = this.#childKey;
    return {
      row,
      relationships: {
        ...node.relationships,
        [this.#name]: () => {
          const constraint: Record<string, Value> = {};
          for (let i = 0; i < parentKey.length; i++) {
            const v = row[parentKey[i] as string];
            if (v === null || v === undefined) return [];
            constraint[childKey[i] as string] = v;
          }
          const stream = child.fetch({constraint});
          const ip = this.#inProgress;
          if (
            ip &&
            this.#compareParents(row, ip.current) > 0 &&
            childKey.every((k, i) => ip.childRow[k] === row[parentKey[i] as string])
          ) {
            return withoutChange(stream, ip.change, this.#compareChildren);
          }
          return stream;
        },
      },
    };
  }

  #pushParent(change: Change): void {
    switch (change.type) {
      case 'add':
        this.#output.push({type: change.type, node: this.#wrap(change.node)});
        return;
      case 'remove':
        this.#output.push({type: change.type, node: this.#wrap(change.node)});
        this.#parentLeft(change.node.row);
        return;
      case 'edit':
        // Sources split edits of join keys (splitEditKeys), so relationships are unchanged.
        this.#output.push({
          type: 'edit',
          oldNode: this.#wrap(change.oldNode),
          node: this.#wrap(change.node),
        });
        return;
      case 'child':
        this.#output.push({type: 'child', node: this.#wrap(change.node), child: change.child});
        return;
    }
  }

  #pushChild(change: Change): void {
    const row: Row = change.type === 'edit' ? change.node.row : change.node.row;
    const constraint: Record<string, Value> = {};
    for (let i = 0; i < this.#childKey.length; i++) {
      const v = row[this.#childKey[i] as string];
      if (v === null || v === undefined) return;
      constraint[this.#parentKey[i] as string] = v;
    }
    // Collect first: pushing downstream must not interleave with this iteration.
    const parents: Node[] = [];
    for (const p of this.#parent.fetch({constraint})) parents.push(p);
    const child = {relationshipName: this.#name, change};
    try {
      for (const p of parents) {
        this.#inProgress = {change, childRow: row, current: p.row};
        this.#output.push({type: 'child', node: this.#wrap(p), child});
      }
    } finally {
      this.#inProgress = undefined;
    }
  }
}

/** The child stream as it was before `change` (which the stream already reflects). */
function* withoutChange(
  stream: Iterable<Node>,
  change: Change,
  compare: Comparator,
): Iterable<Node> {
  switch (change.type) {
    case 'add':
      for (const n of stream) if (compare(n.row, change.node.row) !== 0) yield n;
      return;
    case 'remove':
      yield* withInserted(stream, change.node, undefined, compare);
      return;
    case 'edit':
      yield* withInserted(stream, change.oldNode, change.node.row, compare);
      return;
    case 'child':
      yield* stream;
      return;
  }
}

function* withInserted(
  stream: Iterable<Node>,
  node: Node,
  skip: Row | undefined,
  compare: Comparator,
): Iterable<Node> {
  let pending: Node | undefined = node;
  for (const n of stream) {
    if (skip && compare(n.row, skip) === 0) continue;
    if (pending && compare(pending.row, n.row) < 0) {
      yield pending;
      pending = undefined;
    }
    yield n;
  }
  if (pending) yield pending;
}
