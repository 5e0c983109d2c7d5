// The QueryDriver over the incremental engine: one row-set pipeline per query, all over the
// sources of one pinned replica snapshot. `advance()` pushes the snapshot's changes into the
// sources inside one batch, so every pipeline reports its net row-set change once.
import type {AST, RowValue} from '@zync/protocol';
import {stableStringify} from '@zync/shared';
import {
  Batcher,
  buildRowSet,
  type Row,
  type RowSetChange,
  type RowSetOutput,
  type Source,
  type SourceChange,
} from '@zync/zql/ivm';
import type {
  AdvanceResult,
  DriverRow,
  QueryDriver,
  QueryDriverFactory,
  QueryRowChange,
} from './query-driver.ts';

/** One step of a snapshot, shaped after the SQLite Snapshotter's `advance()`. */
export type EngineSnapshotAdvance =
  | {readonly kind: 'none'; readonly version: string}
  | {
      readonly kind: 'changes';
      readonly version: string;
      /** Net changes; push each into its source before pulling the next. */
      changes(): Iterable<{readonly table: string; readonly change: SourceChange}>;
      /** Moves the sources onto `version` once every change was pushed. */
      commit(): void;
    }
  | {
      readonly kind: 'reset';
      readonly version: string;
      /** Moves onto `version`; sources are invalid afterwards and must be fetched again. */
      commit(): void;
    };

/** The replica as one driver sees it: sources pinned at `version`. */
export interface EngineSnapshot {
  readonly version: string;
  getSource(table: string): Source | undefined;
  advance(): EngineSnapshotAdvance;
  /** The last mutation ids of a group's clients, at `version`. */
  lastMutationIDs?(clientGroupID: string): Record<string, number>;
  destroy(): void;
}

/** The replica table that holds every client's last mutation id (see docs/replica.md). */
export const CLIENTS_TABLE = '_zync_clients';

/** Opens a snapshot for one client group; its sources must push inside `batcher`. */
export type EngineSnapshotFactory = (clientGroupID: string, batcher: Batcher) => EngineSnapshot;

export function engineQueryDriverFactory(open: EngineSnapshotFactory): QueryDriverFactory {
  return groupID => new EngineQueryDriver(batcher => open(groupID, batcher));
}

type Query = {readonly ast: AST; readonly rowSet: RowSetOutput; readonly unlisten: () => void};

export class EngineQueryDriver implements QueryDriver {
  readonly #batcher = new Batcher();
  readonly #snapshot: EngineSnapshot;
  readonly #queries = new Map<string, Query>();
  /** Changes collected during `advance()`, per query. */
  #collecting: Map<string, QueryRowChange[]> | undefined;

  constructor(open: (batcher: Batcher) => EngineSnapshot) {
    this.#snapshot = open(this.#batcher);
    // Opening the clients table's source makes the snapshot report its changes, which
    // carry last mutation ids (nothing is pushed into it).
    this.#snapshot.getSource(CLIENTS_TABLE);
  }

  get version(): string {
    return this.#snapshot.version;
  }

  #driverRow(table: string, row: Row): DriverRow {
    const pk = this.#snapshot.getSource(table)?.primaryKey ?? [];
    return {table, id: idOf(row, pk), row};
  }

  #build(hash: string, ast: AST): Query {
    const rowSet = buildRowSet(
      ast,
      {getSource: t => this.#snapshot.getSource(t)},
      {
        batcher: this.#batcher,
      },
    );
    const unlisten = rowSet.addListener(changes => this.#collect(hash, changes));
    return {ast, rowSet, unlisten};
  }

  #collect(hash: string, changes: readonly RowSetChange[]): void {
    const out = this.#collecting;
    if (!out) return;
    let list = out.get(hash);
    if (!list) {
      list = [];
      out.set(hash, list);
    }
    for (const c of changes) {
      const r = this.#driverRow(c.table, c.row);
      if (c.type === 'remove') list.push({type: 'remove', table: r.table, id: r.id});
      else list.push({type: c.type, ...r});
    }
  }

  addQuery(hash: string, ast: AST): DriverRow[] {
    this.removeQuery(hash);
    const q = this.#build(hash, ast);
    this.#queries.set(hash, q);
    const out: DriverRow[] = [];
    let lastTable = '';
    let pk: readonly string[] = [];
    q.rowSet.forEachRow((table, row) => {
      if (table !== lastTable) {
        lastTable = table;
        pk = this.#snapshot.getSource(table)?.primaryKey ?? [];
      }
      out.push({table, id: idOf(row, pk), row});
    });
    return out;
  }

  lastMutationIDs(clientGroupID: string): Record<string, number> {
    return this.#snapshot.lastMutationIDs?.(clientGroupID) ?? {};
  }

  removeQuery(hash: string): void {
    const q = this.#queries.get(hash);
    if (!q) return;
    q.unlisten();
    q.rowSet.destroy();
    this.#queries.delete(hash);
  }

  advance(): AdvanceResult {
    const step = this.#snapshot.advance();
    if (step.kind === 'none') return {version: step.version, changes: new Map()};
    if (step.kind === 'reset') return this.#rebuild(step);
    const collected = new Map<string, QueryRowChange[]>();
    this.#collecting = collected;
    let clientsChanged = false;
    try {
      this.#batcher.run(() => {
        for (const {table, change} of step.changes()) {
          if (table === CLIENTS_TABLE) {
            clientsChanged = true;
            continue;
          }
          this.#snapshot.getSource(table)?.push(change);
        }
      });
      step.commit();
    } finally {
      this.#collecting = undefined;
    }
    return {version: step.version, changes: collected, clientsChanged};
  }

  /** The snapshot could not be diffed: rebuild every pipeline and diff the row sets. */
  #rebuild(step: {readonly version: string; commit(): void}): AdvanceResult {
    const before = new Map<string, Map<string, DriverRow>>();
    for (const [hash, q] of this.#queries) {
      before.set(hash, this.#keyed(q.rowSet));
      q.unlisten();
      q.rowSet.destroy();
    }
    step.commit();
    const changes = new Map<string, QueryRowChange[]>();
    for (const [hash, q] of [...this.#queries]) {
      const next = this.#build(hash, q.ast);
      this.#queries.set(hash, next);
      const after = this.#keyed(next.rowSet);
      const old = before.get(hash) ?? new Map<string, DriverRow>();
      const list: QueryRowChange[] = [];
      for (const [k, r] of after) {
        const o = old.get(k);
        if (!o) list.push({type: 'add', ...r});
        else if (stableStringify(o.row) !== stableStringify(r.row)) list.push({type: 'edit', ...r});
      }
      for (const [k, r] of old) {
        if (!after.has(k)) list.push({type: 'remove', table: r.table, id: r.id});
      }
      if (list.length > 0) changes.set(hash, list);
    }
    return {version: step.version, changes};
  }

  #keyed(rowSet: RowSetOutput): Map<string, DriverRow> {
    const m = new Map<string, DriverRow>();
    for (const {table, row} of rowSet.rows()) {
      const r = this.#driverRow(table, row);
      m.set(stableStringify([table, r.id]), r);
    }
    return m;
  }

  destroy(): void {
    for (const hash of [...this.#queries.keys()]) this.removeQuery(hash);
    this.#snapshot.destroy();
  }
}

function idOf(row: Row, pk: readonly string[]): RowValue {
  if (pk.length === 1) {
    const c = pk[0] as string;
    return {[c]: row[c] ?? null};
  }
  const id: RowValue = {};
  for (const c of pk) id[c] = row[c] ?? null;
  return id;
}
