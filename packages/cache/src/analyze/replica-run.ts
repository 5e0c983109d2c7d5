// Runs one query over the replica the way zero-cache hydrates it (the same EngineQueryDriver
// over the same SQLiteSources, in one pinned read transaction, under the same row budget)
// while recording every statement issued, then asks SQLite for each statement's plan.
import {existsSync, statSync} from 'node:fs';
import type Database from 'better-sqlite3';
import type {AST} from '@zync/protocol';
import {quoteIdent} from '@zync/shared';
import {readTableSpecs} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {closeQuietly, SnapshotPool, type Snap} from '../sqlite-engine/snapshot-pool.ts';
import {SQLiteSource} from '../sqlite-engine/sqlite-source.ts';
import {HydrationBudgetError} from '../view-syncer/hydration-budget.ts';
import {
  CLIENTS_TABLE,
  EngineQueryDriver,
  type EngineSnapshot,
} from '../view-syncer/engine-query-driver.ts';
import {tablesOf} from '../permissions/select-permissions.ts';
import {AccessRecorder, type AccessShape} from './access-recorder.ts';
import {AnalyzeError} from './analyze-error.ts';

export type PlanStep = {readonly id: number; readonly parent: number; readonly detail: string};

export type RunStatement = {
  readonly table: string;
  readonly sql: string;
  readonly executions: number;
  readonly rowsRead: number;
  readonly shape: AccessShape | undefined;
  readonly plan: readonly PlanStep[];
};

/** Secondary indexes of a replica table: name and key columns. */
export type ReplicaIndex = {readonly name: string; readonly columns: readonly string[]};

export type ReplicaRun = {
  readonly version: string;
  /** Rows the query syncs, per table (server names). */
  readonly syncedRows: ReadonlyMap<string, number>;
  /** Rows the sources handed to the engine, per table. */
  readonly rowsFetched: ReadonlyMap<string, number>;
  readonly statements: readonly RunStatement[];
  readonly indexes: ReadonlyMap<string, readonly ReplicaIndex[]>;
  readonly primaryKeys: ReadonlyMap<string, readonly string[]>;
  /** Rows in each table the query read (what a scan of it goes through). */
  readonly tableRows: ReadonlyMap<string, number>;
  /** Wall time of the hydration, in milliseconds. */
  readonly hydrateMs: number;
  /** Set when zero-cache's row budget stopped the hydration (the message names the setting). */
  readonly refused: string | undefined;
};

export type ReplicaRunOptions = {
  readonly replicaFile: string;
  /** The AST to run: server names, permissions already applied. */
  readonly ast: AST;
  readonly maxHydrationRows: number;
};

function pin(file: string): {pool: SnapshotPool; snap: Snap} {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new AnalyzeError(
      'replica',
      `the replica file ${file} does not exist; point --replica-file (or ZERO_REPLICA_FILE) at zero-cache's replica`,
    );
  }
  const pool = new SnapshotPool(file, false);
  try {
    return {pool, snap: pool.acquire()};
  } catch (e) {
    pool.close();
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new AnalyzeError(
      'replica',
      `${file} is not a usable zero-cache replica (${reason}); point --replica-file at the file zero-cache writes (ZERO_REPLICA_FILE)`,
      {cause: e},
    );
  }
}

export async function runOnReplica(options: ReplicaRunOptions): Promise<ReplicaRun> {
  const {pool, snap} = pin(options.replicaFile);
  const db = snap.db;
  let driver: EngineQueryDriver | undefined;
  try {
    const specs = new Map<string, TableSpec>();
    for (const [name, {upstreamOid: _oid, ...spec}] of readTableSpecs(db)) specs.set(name, spec);
    for (const table of tablesOf(options.ast)) {
      const spec = specs.get(table);
      if (!spec) {
        throw new AnalyzeError(
          'replica',
          `the table "${table}" is not in the replica ${options.replicaFile}; is it published upstream, and has zero-cache replicated it?`,
        );
      }
      if (spec.primaryKey.length === 0) {
        throw new AnalyzeError('replica', `the replica table "${table}" has no primary key`);
      }
    }
    const recorder = new AccessRecorder();
    const sources = new Map<string, ReturnType<AccessRecorder['observe']>>();
    const snapshot: EngineSnapshot = {
      version: snap.version,
      getSource(table) {
        if (table === CLIENTS_TABLE) return undefined;
        let s = sources.get(table);
        const spec = specs.get(table);
        if (!s && spec && spec.primaryKey.length > 0) {
          const handle = {db, statements: recorder.statementsFor(table)};
          s = recorder.observe(new SQLiteSource(handle, spec));
          sources.set(table, s);
        }
        return s;
      },
      advance: () => ({kind: 'none', version: snap.version}),
      destroy: () => {},
    };
    driver = new EngineQueryDriver(() => snapshot, {maxHydrationRows: options.maxHydrationRows});
    const syncedRows = new Map<string, number>();
    let refused: string | undefined;
    const started = performance.now();
    try {
      for (const row of await driver.addQuery('analyze-query', options.ast)) {
        syncedRows.set(row.table, (syncedRows.get(row.table) ?? 0) + 1);
      }
    } catch (e) {
      if (!(e instanceof HydrationBudgetError)) throw e;
      refused = e.message;
    }
    const hydrateMs = performance.now() - started;
    const statements = [...recorder.statements.values()].map(r => ({
      table: r.table,
      sql: r.sql,
      executions: r.executions,
      rowsRead: r.rowsRead,
      shape: r.shape,
      plan: explain(db, r.sql, r.params),
    }));
    const indexes = new Map<string, ReplicaIndex[]>();
    const primaryKeys = new Map<string, readonly string[]>();
    const tableRows = new Map<string, number>();
    for (const table of new Set(statements.map(s => s.table))) {
      indexes.set(table, replicaIndexes(db, table));
      primaryKeys.set(table, specs.get(table)?.primaryKey ?? []);
      tableRows.set(
        table,
        db
          .prepare(`SELECT count(*) FROM ${quoteIdent(table)}`)
          .pluck()
          .get() as number,
      );
    }
    return {
      version: snap.version,
      syncedRows,
      rowsFetched: recorder.rowsFetched,
      statements,
      indexes,
      primaryKeys,
      tableRows,
      hydrateMs,
      refused,
    };
  } finally {
    driver?.destroy();
    pool.release(snap);
    pool.close();
    closeQuietly(db);
  }
}

/** SQLite's plan for `sql` bound to `params`, as its rows (id, parent, detail). */
function explain(db: Database.Database, sql: string, params: readonly unknown[]): PlanStep[] {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as {
    id: number;
    parent: number;
    detail: string;
  }[];
  return rows.map(r => ({id: r.id, parent: r.parent, detail: r.detail}));
}

/** The explicit indexes of `table` in the replica, with their key columns. */
function replicaIndexes(db: Database.Database, table: string): ReplicaIndex[] {
  const list = db.prepare(`SELECT name FROM pragma_index_list(?)`).all(table) as {name: string}[];
  return list.map(({name}) => ({
    name,
    columns: (
      db.prepare(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`).all(name) as {
        name: string | null;
      }[]
    ).map(c => c.name ?? '(expression)'),
  }));
}
