// The contracts every operator speaks: nodes flowing out of `fetch`, changes flowing
// through `push`. See docs/ivm.md for the consistency rules.
import type {Ordering} from '@zync/protocol';
import type {Comparator, PrimaryKey, Row, Value} from './data.ts';

/** A row plus its (lazily fetched) relationships. */
export type Node = {
  readonly row: Row;
  readonly relationships: Readonly<Record<string, () => Iterable<Node>>>;
};

export const NO_RELATIONSHIPS: Readonly<Record<string, () => Iterable<Node>>> = Object.freeze({});

export type AddChange = {readonly type: 'add'; readonly node: Node};
export type RemoveChange = {readonly type: 'remove'; readonly node: Node};
/** Same primary key and same join keys; any other column may differ. */
export type EditChange = {readonly type: 'edit'; readonly oldNode: Node; readonly node: Node};
/** Something changed inside relationship `relationshipName` of `node`. */
export type ChildChange = {
  readonly type: 'child';
  readonly node: Node;
  readonly child: {readonly relationshipName: string; readonly change: Change};
};
export type Change = AddChange | RemoveChange | EditChange | ChildChange;

export type Start = {readonly row: Row; readonly basis: 'at' | 'after'};

/**
 * What a consumer may ask of an input. All of it is expressible in SQL:
 * `WHERE c1 = ? AND ... AND (ordering) >= / > (start) ORDER BY ordering [DESC]`.
 */
export type FetchRequest = {
  /** Equality on columns (used by joins). A null value matches nothing. */
  readonly constraint?: Readonly<Record<string, Value>> | undefined;
  /** Start at (inclusive) or after (exclusive) this row, in iteration direction. */
  readonly start?: Start | undefined;
  /** Iterate the connection's ordering backwards. */
  readonly reverse?: boolean | undefined;
};

export type RelationshipSchema = {
  readonly schema: SourceSchema;
  /** Junction hop of a two-hop relationship: its children replace it in the view. */
  readonly hidden: boolean;
  /** Only present to evaluate EXISTS: not shown in views, but part of the row set. */
  readonly internal: boolean;
  /**
   * An EXISTS a permission rule added: its rows only decide which parents pass, so no
   * materialized tree (view or row set) keeps them.
   */
  readonly serverOnly?: boolean | undefined;
  /** Shown as a single row or undefined. */
  readonly singular: boolean;
};

export type SourceSchema = {
  readonly tableName: string;
  readonly primaryKey: PrimaryKey;
  /** Full ordering, primary key appended. */
  readonly ordering: Ordering;
  readonly compareRows: Comparator;
  readonly relationships: Readonly<Record<string, RelationshipSchema>>;
};

export interface Output {
  push(change: Change): void;
}

export interface Input {
  getSchema(): SourceSchema;
  fetch(req: FetchRequest): Iterable<Node>;
  setOutput(output: Output): void;
  destroy(): void;
  /**
   * A parent with the join key `constraint` left: an operator that keeps state for the
   * rows matching `constraint` may drop it, unless `stillAsked()` (another parent has the
   * key; it may cost a lookup, so it is asked only when there is state to drop). A later
   * fetch of the same constraint must still answer correctly (by rebuilding the state).
   */
  cleanup?(constraint: Readonly<Record<string, Value>>, stillAsked: () => boolean): void;
}

export const EMPTY_REQUEST: FetchRequest = Object.freeze({});

/** Whether `row` satisfies an equality constraint (null never matches). */
export function matchesConstraint(
  row: Row,
  constraint: Readonly<Record<string, Value>> | undefined,
): boolean {
  if (!constraint) return true;
  for (const k in constraint) {
    const v = constraint[k];
    if (v === null || v === undefined || row[k] !== v) return false;
  }
  return true;
}

export function rowNode(row: Row): Node {
  return {row, relationships: NO_RELATIONSHIPS};
}

export const NULL_OUTPUT: Output = {push: () => {}};
