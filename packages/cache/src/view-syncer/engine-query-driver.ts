// The QueryDriver over the incremental engine: one row-set pipeline per query, all over the
// sources of one pinned replica snapshot. `advance()` pushes the snapshot's changes into the
// sources inside one batch, so every pipeline reports its net row-set change once; a large
// advance pushes them in time slices, the batch held open across the yields.
// A query hydrates in time slices (giving the event loop back between them) under a row
// budget; the driver's queries hydrate one at a time and an advance waits for the one in
// flight, so the snapshot cannot move under a hydration (docs/security.md).
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
import {DEFAULT_MAX_HYDRATION_ROWS, HydrationMeter} from './hydration-budget.ts';
import {TimeSlice} from './time-slice.ts';
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

export type EngineQueryDriverOptions = {
  /** Most rows one query's hydration may fetch (ZERO_QUERY_MAX_HYDRATION_ROWS). */
  readonly maxHydrationRows?: number | undefined;
  /** Longest a hydration holds the event loop before it yields (ms). */
  readonly sliceMs?: number | undefined;
  /** The clock slices are cut by (default: `performance.now`); tests count with it. */
  readonly sliceClock?: (() => number) | undefined;
};

export function engineQueryDriverFactory(
  open: EngineSnapshotFactory,
  options: EngineQueryDriverOptions = {},
): QueryDriverFactory {
  return groupID => new EngineQueryDriver(batcher => open(groupID, batcher), options);
}

type Query = {
  readonly ast: AST;
  readonly rowSet: RowSetOutput;
  readonly unlisten: () => void;
  readonly meter: HydrationMeter | undefined;
};

/** An advance under way: its changes are pushed in slices, inside one open batch. */
type AdvanceRun = {
  readonly step: Extract<EngineSnapshotAdvance, {kind: 'changes'}>;
  readonly changes: Iterator<{readonly table: string; readonly change: SourceChange}>;
  readonly collected: Map<string, QueryRowChange[]>;
  clientsChanged: boolean;
  readonly slice: TimeSlice;
};

/** Rows fetched between two looks at the clock while a query hydrates. */
const ROWS_PER_CLOCK_CHECK = 64;

export class EngineQueryDriver implements QueryDriver {
  readonly #batcher = new Batcher();
  readonly #snapshot: EngineSnapshot;
  readonly #queries = new Map<string, Query>();
  readonly #maxRows: number;
  readonly #sliceMs: number | undefined;
  readonly #sliceClock: (() => number) | undefined;
  /** Changes collected during `advance()`, per query. */
  #collecting: Map<string, QueryRowChange[]> | undefined;
  /** The query whose hydration is suspended between slices, and its end. */
  #hydrating: {readonly hash: string; readonly q: Query} | undefined;
  #busy: Promise<unknown> | undefined;
  #destroyed = false;

  constructor(open: (batcher: Batcher) => EngineSnapshot, options: EngineQueryDriverOptions = {}) {
    this.#maxRows = options.maxHydrationRows ?? DEFAULT_MAX_HYDRATION_ROWS;
    this.#sliceMs = options.sliceMs;
    this.#sliceClock = options.sliceClock;
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

  /** `metered`: built for a hydration under the row budget, which `hydrate` runs. */
  #build(hash: string, ast: AST, metered: boolean): Query {
    const meter = metered ? new HydrationMeter(this.#maxRows) : undefined;
    const rowSet = buildRowSet(
      ast,
      {getSource: t => this.#snapshot.getSource(t), meter: meter?.visit},
      {batcher: this.#batcher, deferred: metered},
    );
    const unlisten = rowSet.addListener(changes => this.#collect(hash, changes));
    return {ast, rowSet, unlisten, meter};
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

  /**
   * Hydrates in slices: returns the rows at once if the query hydrated within one slice,
   * else a promise of them. Throws HydrationBudgetError past the row budget.
   */
  addQuery(hash: string, ast: AST): DriverRow[] | Promise<DriverRow[]> {
    if (this.#busy) return this.#busy.then(() => this.addQuery(hash, ast));
    this.removeQuery(hash);
    const q = this.#build(hash, ast, true);
    const meter = q.meter as HydrationMeter;
    const slice = new TimeSlice(this.#sliceMs, this.#sliceClock);
    let check = ROWS_PER_CLOCK_CHECK;
    const pause = () => {
      if (meter.rows < check) return false;
      check = meter.rows + ROWS_PER_CLOCK_CHECK;
      return slice.due;
    };
    if (this.#step(q, pause)) return this.#hydrated(hash, q);
    this.#hydrating = {hash, q};
    const rest = this.#sliced(hash, q, slice, pause);
    this.#hold(rest);
    return rest;
  }

  /** One slice of `q`'s hydration; a failed query is released before the error goes on. */
  #step(q: Query, pause: () => boolean): boolean {
    try {
      return q.rowSet.hydrate(pause);
    } catch (e) {
      q.unlisten();
      q.rowSet.destroy();
      throw e;
    }
  }

  async #sliced(
    hash: string,
    q: Query,
    slice: TimeSlice,
    pause: () => boolean,
  ): Promise<DriverRow[]> {
    try {
      for (;;) {
        await slice.yield();
        if (this.#hydrating?.q !== q) {
          throw new Error(this.#destroyed ? 'The driver was destroyed' : 'The query was removed');
        }
        if (this.#step(q, pause)) break;
      }
    } finally {
      if (this.#hydrating?.q === q) this.#hydrating = undefined;
    }
    return this.#hydrated(hash, q);
  }

  #hydrated(hash: string, q: Query): DriverRow[] {
    q.meter?.disarm();
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
    const h = this.#hydrating;
    if (h?.hash === hash) {
      this.#hydrating = undefined;
      h.q.unlisten();
      h.q.rowSet.destroy();
    }
    const q = this.#queries.get(hash);
    if (!q) return;
    q.unlisten();
    q.rowSet.destroy();
    this.#queries.delete(hash);
  }

  /**
   * Waits for a hydration in flight: the snapshot must not move under it. Pushes the
   * changes in time slices: the batch stays open across the yields (every row set reports
   * its net change once, at the end) and the snapshot stays pinned at the advance's target
   * until its commit. A suspended advance holds back the driver's next hydration or
   * advance; the caller must not remove queries meanwhile (a group's steps are queued).
   */
  advance(): AdvanceResult | Promise<AdvanceResult> {
    if (this.#busy) return this.#busy.then(() => this.advance());
    const step = this.#snapshot.advance();
    if (step.kind === 'none') return {version: step.version, changes: new Map()};
    if (step.kind === 'reset') return this.#rebuild(step);
    const run: AdvanceRun = {
      step,
      changes: step.changes()[Symbol.iterator](),
      collected: new Map(),
      clientsChanged: false,
      slice: new TimeSlice(this.#sliceMs, this.#sliceClock),
    };
    this.#collecting = run.collected;
    this.#batcher.begin();
    try {
      if (this.#pushSome(run)) return this.#advanced(run);
    } catch (e) {
      this.#abandon();
      throw e;
    }
    const rest = this.#pushSliced(run);
    this.#hold(rest);
    return rest;
  }

  /** Pushes changes until none is left (true) or the slice is used up (false). */
  #pushSome(run: AdvanceRun): boolean {
    for (;;) {
      const next = run.changes.next();
      if (next.done) return true;
      const {table, change} = next.value;
      if (table === CLIENTS_TABLE) run.clientsChanged = true;
      else this.#snapshot.getSource(table)?.push(change);
      if (run.slice.due) return false;
    }
  }

  async #pushSliced(run: AdvanceRun): Promise<AdvanceResult> {
    try {
      do {
        await run.slice.yield();
        if (this.#destroyed) throw new Error('The driver was destroyed');
      } while (!this.#pushSome(run));
    } catch (e) {
      this.#abandon();
      throw e;
    }
    return this.#advanced(run);
  }

  /** Every change was pushed: the batch ends (row sets report) and the sources move on. */
  #advanced(run: AdvanceRun): AdvanceResult {
    try {
      this.#batcher.end();
      run.step.commit();
    } finally {
      this.#collecting = undefined;
    }
    return {version: run.step.version, changes: run.collected, clientsChanged: run.clientsChanged};
  }

  /** A push failed (or the driver went away) mid-advance: the push's error is reported. */
  #abandon(): void {
    this.#collecting = undefined;
    try {
      this.#batcher.end();
    } catch {
      // The pipelines are past use; the first error is the one that matters.
    }
  }

  /** Makes the driver's next hydration or advance wait for `work`. */
  #hold(work: Promise<unknown>): void {
    const busy = work.then(
      () => {},
      () => {},
    );
    this.#busy = busy;
    void busy.then(() => {
      if (this.#busy === busy) this.#busy = undefined;
    });
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
    // The reset dropped every source, the clients table's too: opened again, or the changes
    // after this one would no longer carry last mutation ids.
    this.#snapshot.getSource(CLIENTS_TABLE);
    const changes = new Map<string, QueryRowChange[]>();
    for (const [hash, q] of [...this.#queries]) {
      // Rebuilt in one pass: these queries were within the budget before.
      const next = this.#build(hash, q.ast, false);
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
    // Last mutation ids may have moved within the reset's range too.
    return {version: step.version, changes, clientsChanged: true};
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
    this.#destroyed = true;
    if (this.#hydrating) this.removeQuery(this.#hydrating.hash);
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
