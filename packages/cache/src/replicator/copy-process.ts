// The initial copy runs in a child process: it churns through every upstream row, and a
// separate process hands all of that memory back to the OS when it exits, so the
// long-running zero-cache stays small. This file holds the copy and the parent's launcher;
// copy-child.ts is the child's entry point.
import Database from 'better-sqlite3';
import {fork} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {rmSync} from 'node:fs';
import type pg from 'pg';
import {quoteLiteral} from '@zync/pg';
import type {LogContext, Logger, LogLevel} from '@zync/shared';
import {resolveEntry} from '../bin/entry-points.ts';
import {createInternalTables} from '../replica/replica-schema.ts';
import {copyTable, createReplicaIndexes, createReplicaTable} from './initial-copy.ts';
import {listPublishedTables, newClient} from './upstream.ts';

/** SQLite page cache of the copy's connection: the tables being filled stay in memory. */
const COPY_CACHE_KIB = 32 * 1024;

export interface CopyJob {
  readonly upstreamUrl: string;
  /** The file to create (replaced if it exists), in SQLite's WAL mode when complete. */
  readonly replicaFile: string;
  readonly publication: string;
  readonly snapshot: string;
}

export interface CopySummary {
  readonly tables: number;
  readonly rows: number;
}

export type FromChild =
  | {type: 'log'; level: LogLevel; msg: string; ctx: LogContext}
  | {type: 'done'; summary: CopySummary}
  | {type: 'failed'; message: string; code?: string | undefined};

/**
 * Copies every published table from the exported snapshot into the replica file.
 * `onClient` receives the upstream connection, so that a caller in the same process can
 * end it to cancel the copy.
 */
export async function copyAll(
  job: CopyJob,
  lc: Logger,
  onClient?: (client: pg.Client) => void,
): Promise<CopySummary> {
  // A file of its own, renamed onto the replica path by the caller once complete: no
  // journal, no syncs, one lock for the whole copy. A crash leaves only this file behind.
  removeDbFiles(job.replicaFile);
  const db = new Database(job.replicaFile);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma(`cache_size = -${COPY_CACHE_KIB}`);
  createInternalTables(db);
  let complete = false;
  const client = newClient(job.upstreamUrl);
  client.on('error', () => {});
  onClient?.(client);
  try {
    await client.connect();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // A utility statement: it takes no parameters.
    await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(job.snapshot)}`);
    const tables = await listPublishedTables(client, job.publication);
    let rows = 0;
    let copied = 0;
    for (const t of tables) {
      if (t.primaryKey.length === 0) {
        lc.warn('table has no primary key; it is left out of the replica', {table: t.name});
        continue;
      }
      db.transaction(() => createReplicaTable(db, t))();
      rows += (await copyTable(client, db, t, lc)).rows;
      // built after the rows are in: one sort instead of a b-tree insert per row
      const indexes = db.transaction(() => createReplicaIndexes(db, t))();
      if (indexes.length > 0)
        lc.info('created replica indexes', {table: t.name, indexes: indexes.join(', ')});
      copied++;
    }
    await client.query('COMMIT');
    db.pragma('journal_mode = WAL'); // the replica's mode, recorded in the file's header
    complete = true;
    return {tables: copied, rows};
  } finally {
    db.close();
    if (!complete) removeDbFiles(job.replicaFile);
    await client.end().catch(() => {});
  }
}

/** Removes a SQLite file and its journals, if any. */
export function removeDbFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, {force: true});
}

/** Runs `copyAll` in a child process; `onChild` receives it so the caller can kill it. */
export function copyInChildProcess(
  job: CopyJob,
  lc: Logger,
  onChild: (child: ChildProcess | undefined) => void,
): Promise<CopySummary> {
  const entry = resolveEntry('copy-child');
  const child = fork(entry.file, [], {
    execArgv: [...entry.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {PATH: process.env['PATH'] ?? '', ZYNC_COPY_CHILD: '1'},
  });
  onChild(child);
  return new Promise<CopySummary>((resolve, reject) => {
    let summary: CopySummary | undefined;
    let failure: Error | undefined;
    child.on('message', (m: FromChild) => {
      if (m.type === 'log') lc[m.level](m.msg, m.ctx);
      else if (m.type === 'done') summary = m.summary;
      else failure = Object.assign(new Error(m.message), {code: m.code});
    });
    child.once('error', e => failure ?? (failure = e));
    child.once('exit', (code, signal) => {
      onChild(undefined);
      if (summary && code === 0) resolve(summary);
      else reject(failure ?? new Error(`initial copy process exited (${signal ?? code})`));
    });
    child.send(job);
  });
}
