// Where the initial copy runs. A child process hands the memory churned by a big copy back to
// the OS when it exits, but starting one (a Node process, and in the repository the
// TypeScript loader) costs more than copying a small database. So the copy runs in
// zero-cache's own process when the published tables are estimated to be small, and in a
// child above that.
import type {ChildProcess} from 'node:child_process';
import type pg from 'pg';
import type {Logger} from '@zync/shared';
import {copyAll, copyInChildProcess} from './copy-process.ts';
import type {CopyJob, CopySummary} from './copy-process.ts';

/**
 * Up to this many estimated rows, the copy runs in-process. At 200k rows of a typical
 * table the copy adds a few MiB to the long-running process, and the child's start-up
 * would cost as long as the copy itself.
 */
export const IN_PROCESS_COPY_MAX_ROWS = 200_000;

/** Assumed bytes per row for tables Postgres has no row estimate for yet. */
const BYTES_PER_ROW_GUESS = 64;

/**
 * Estimates the rows of the published tables from the planner's statistics
 * (`pg_class.reltuples`), or from the table's size on disk when it was never analyzed
 * (`reltuples` is -1 then). Cheap: reads no table data.
 */
export async function estimatePublishedRows(
  client: pg.Client,
  publication: string,
): Promise<number> {
  const {rows} = await client.query<{n: string | null}>(
    `SELECT sum(CASE WHEN c.reltuples >= 0 THEN c.reltuples
                     ELSE pg_relation_size(c.oid) / ${BYTES_PER_ROW_GUESS} END)::float8::text AS n
     FROM pg_publication_tables pt
     JOIN pg_namespace n ON n.nspname = pt.schemaname
     JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
     WHERE pt.pubname = $1`,
    [publication],
  );
  return Number(rows[0]?.n ?? 0);
}

export type CopyPlace = 'in-process' | 'child-process';

export function copyPlace(
  estimatedRows: number,
  maxInProcess = IN_PROCESS_COPY_MAX_ROWS,
): CopyPlace {
  return estimatedRows <= maxInProcess ? 'in-process' : 'child-process';
}

export interface InitialCopyOptions {
  /** A connection outside the snapshot, for the estimate. */
  readonly catalog: pg.Client;
  readonly maxInProcessRows?: number | undefined;
  /** The child while it runs (undefined after), so that the caller can kill it. */
  readonly onChild: (child: ChildProcess | undefined) => void;
  /** The in-process copy's upstream connection, so that the caller can end it. */
  readonly onClient: (client: pg.Client) => void;
}

/** Runs the initial copy where `copyPlace` says, and logs where and why. */
export async function runInitialCopy(
  job: CopyJob,
  lc: Logger,
  o: InitialCopyOptions,
): Promise<CopySummary> {
  const estimated = await estimatePublishedRows(o.catalog, job.publication);
  const place = copyPlace(estimated, o.maxInProcessRows);
  lc.info('initial copy starts', {place, estimatedRows: Math.round(estimated)});
  return place === 'in-process'
    ? copyAll(job, lc, o.onClient)
    : copyInChildProcess(job, lc, o.onChild);
}
