// Helpers for the change-log tests: a replication-manager (replicator + change-log writer)
// and followers fed by VACUUM INTO snapshots of its replica.
import Database from 'better-sqlite3';
import type {Logger} from '@zync/shared';
import {ChangeFollower, type ChangeFollowerOptions} from '../src/change-db/change-follower.ts';
import {ChangeLogWriter} from '../src/change-db/change-log-writer.ts';
import type {ChangeLogSink} from '../src/change-db/row-ops.ts';
import {Replicator} from '../src/replicator/replicator.ts';
import {captureLogger, tempReplicaFile} from './replicator-helpers.ts';
import {vacuumSnapshots, type CountingSnapshots} from './vacuum-snapshots.ts';

export interface Manager {
  readonly writer: ChangeLogWriter;
  readonly replicator: Replicator;
  readonly file: string;
  stop(): Promise<void>;
}

export async function startManager(
  url: string,
  appId: string,
  opts: {file?: string; sink?: (w: ChangeLogWriter) => ChangeLogSink; lc?: Logger} = {},
): Promise<Manager> {
  const lc = opts.lc ?? captureLogger();
  const file = opts.file ?? tempReplicaFile();
  const writer = new ChangeLogWriter({changeDbUrl: url, appId, lc});
  await writer.init();
  const replicator = new Replicator({
    upstreamUrl: url,
    replicaFile: file,
    appId,
    lc,
    maxRetryDelayMs: 200,
    changeLog: opts.sink ? opts.sink(writer) : writer,
  });
  void replicator.run().catch(() => {});
  await replicator.ready;
  return {
    writer,
    replicator,
    file,
    stop: async () => {
      await replicator.stop();
      await writer.close();
    },
  };
}

export interface Follower {
  readonly follower: ChangeFollower;
  readonly snapshots: CountingSnapshots;
  readonly file: string;
}

export async function startFollower(
  url: string,
  appId: string,
  managerFile: string,
  opts: Partial<ChangeFollowerOptions> = {},
): Promise<Follower> {
  const snapshots = vacuumSnapshots(managerFile);
  const file = opts.replicaFile ?? tempReplicaFile();
  const follower = new ChangeFollower({
    changeDbUrl: url,
    appId,
    replicaFile: file,
    nodeId: `node-${Math.random().toString(36).slice(2)}`,
    lc: captureLogger(),
    snapshots,
    maxRetryDelayMs: 200,
    ...opts,
  });
  void follower.run().catch(() => {});
  await follower.ready;
  return {follower, snapshots, file};
}

/** Resolves once `f` is at `version` or later (waits on its notifications). */
export function reach(
  f: {version: string; subscribe(l: (v: string) => void): () => void},
  version: string,
): Promise<void> {
  if (f.version >= version) return Promise.resolve();
  return new Promise(resolve => {
    const off = f.subscribe(v => {
      if (v >= version) {
        off();
        resolve();
      }
    });
  });
}

/** Every replicated table's rows and the tables' metadata, in a comparable form. */
export function replicaContents(file: string): Record<string, unknown[]> {
  const db = new Database(file, {readonly: true});
  try {
    db.defaultSafeIntegers(true);
    const out: Record<string, unknown[]> = {};
    const tables = db
      .prepare(`SELECT tbl FROM _zync_tables ORDER BY tbl`)
      .pluck()
      .all() as string[];
    for (const t of tables) {
      const cols = (db.pragma(`table_info("${t}")`) as {name: string}[]).map(c => `"${c.name}"`);
      out[t] = db.prepare(`SELECT * FROM "${t}" ORDER BY ${cols.join(', ')}`).all();
    }
    out['_zync_tables'] = db.prepare(`SELECT * FROM _zync_tables ORDER BY tbl`).all();
    out['_zync_columns'] = db.prepare(`SELECT * FROM _zync_columns ORDER BY tbl, pos`).all();
    return out;
  } finally {
    db.close();
  }
}

/** The replica's change-log entries after `since`. */
export function changelogAfter(file: string, since: string): unknown[] {
  const db = new Database(file, {readonly: true});
  try {
    return db
      .prepare(`SELECT * FROM _zync_changelog WHERE version > ? ORDER BY version, seq`)
      .all(since);
  } finally {
    db.close();
  }
}
