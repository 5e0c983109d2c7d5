// The view syncer's view of the query engine. A driver runs the queries of one client
// group over one consistent snapshot of the replica and tells which rows each query
// needs. The view syncer never looks at operators or sources; it only turns these row
// sets into CVR changes and pokes.
import type {AST, RowValue} from '@zync/protocol';

type MaybePromise<T> = T | Promise<T>;

/** A row a query needs, in server names. `id` holds exactly the primary-key columns. */
export type DriverRow = {
  readonly table: string;
  readonly id: RowValue;
  readonly row: RowValue;
};

/**
 * How a query's row set changed. `add`/`remove` are set membership (a row entering or
 * leaving everything the query needs, related rows included); `edit` is new contents for
 * a row the query keeps. A driver may report a row more than once for one query (e.g. a
 * related row reached through two parents) as long as adds and removes balance.
 */
export type QueryRowChange =
  | {readonly type: 'add'; readonly table: string; readonly id: RowValue; readonly row: RowValue}
  | {readonly type: 'edit'; readonly table: string; readonly id: RowValue; readonly row: RowValue}
  | {readonly type: 'remove'; readonly table: string; readonly id: RowValue};

export type AdvanceResult = {
  /** The replica version the driver now reads at. */
  readonly version: string;
  /** Changes per query hash; queries without changes may be absent. */
  readonly changes: ReadonlyMap<string, readonly QueryRowChange[]>;
  /** Whether any client's last mutation id changed in this advance. */
  readonly clientsChanged?: boolean | undefined;
};

export interface QueryDriver {
  /** The replica version the driver currently reads at. */
  readonly version: string;
  /**
   * Hydrates a query at the current version and returns every row it needs (duplicates
   * allowed, as for changes). Throws if the query cannot be built (unknown table, ...).
   */
  addQuery(hash: string, ast: AST): MaybePromise<Iterable<DriverRow>>;
  /** Stops maintaining a query. Unknown hashes are ignored. */
  removeQuery(hash: string): void;
  /** Moves every query to the replica's newest version and reports what changed. */
  advance(): MaybePromise<AdvanceResult>;
  /** The last mutation id of each client of a group, at the driver's version. */
  lastMutationIDs?(clientGroupID: string): Record<string, number>;
  /** Releases everything (pipelines, snapshots). The driver is not used afterwards. */
  destroy(): void;
}

/** Makes one driver per client group (called when a group is loaded into memory). */
export type QueryDriverFactory = (clientGroupID: string) => QueryDriver;

/**
 * Tells the view syncer that the replica moved to a newer version. The replicator (or an
 * adapter over it) implements this; `subscribe` returns an unsubscribe function.
 */
export interface ReplicaNotifier {
  subscribe(listener: (version: string) => void): () => void;
}
