// The contract between the engine and a table's storage. One Source per table; each
// pipeline that reads the table opens a connection with its own ordering and filter.
import type {Condition, Ordering} from '@zync/protocol';
import type {PrimaryKey, Row} from './data.ts';
import type {Input} from './operator.ts';

export type SourceChange =
  | {readonly type: 'add'; readonly row: Row}
  | {readonly type: 'remove'; readonly row: Row}
  | {readonly type: 'edit'; readonly oldRow: Row; readonly row: Row};

export type ConnectOptions = {
  /**
   * Pushed-down filter (no EXISTS). Kept as AST data so that a SQL source can compile it
   * into a WHERE clause; fetch and push must both apply it.
   */
  readonly filter?: Condition | undefined;
  /**
   * An edit that changes any of these columns (or the primary key) is delivered to this
   * connection as `remove(old)` then `add(new)` (see docs/ivm.md, "Edits").
   */
  readonly splitEditKeys?: readonly string[] | undefined;
};

export interface SourceInput extends Input {
  /** The full ordering (primary key appended). */
  readonly ordering: Ordering;
  readonly filter: Condition | undefined;
  readonly splitEditKeys: readonly string[];
}

export interface Source {
  readonly tableName: string;
  readonly primaryKey: PrimaryKey;
  /** `ordering` may omit the primary key; the source appends it. */
  connect(ordering: Ordering, options?: ConnectOptions): SourceInput;
  /** Applies a change and pushes it to every connection (see docs/ivm.md). */
  push(change: SourceChange): void;
}
