// A follower's replica file: checking what is there, putting a downloaded snapshot in its
// place before anything opens it, and restoring a snapshot into it while readers hold it.
import Database from 'better-sqlite3';
import {existsSync, renameSync} from 'node:fs';
import {readReplicationState} from '../replica/replica-schema.ts';
import {removeDbFiles} from '../replicator/copy-process.ts';

/**
 * A downloaded snapshot that cannot serve as this node's replica. `config`: a download
 * again cannot help (the nodes are configured differently); `bad-file`: it may.
 */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  readonly kind: 'config' | 'bad-file';

  constructor(kind: 'config' | 'bad-file', message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** The version of the replica at `file`, or undefined if there is none usable for `appId`. */
export function usableReplicaVersion(file: string, appId: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const db = new Database(file, {readonly: true, fileMustExist: true});
    try {
      const state = readReplicationState(db);
      return state && state.appId === appId ? state.version : undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** Checks that `file` is a complete replica of `appId`; returns its version. */
export function checkSnapshot(file: string, appId: string): string {
  let db: Database.Database;
  try {
    db = new Database(file, {readonly: true, fileMustExist: true});
  } catch (e) {
    throw new SnapshotError(
      'bad-file',
      'the downloaded snapshot does not open as a SQLite database',
      {
        cause: e,
      },
    );
  }
  try {
    const state = readReplicationState(db);
    if (!state) {
      throw new SnapshotError('bad-file', 'the downloaded snapshot has no replication state');
    }
    if (state.appId !== appId) {
      throw new SnapshotError(
        'config',
        `the snapshot is of app id "${state.appId}" but this node runs "${appId}": set the same ZERO_APP_ID on every node`,
      );
    }
    return state.version;
  } finally {
    db.close();
  }
}

/** Moves a checked snapshot to `file` (nothing may have `file` open). */
export function placeSnapshot(snapshot: string, file: string): void {
  removeDbFiles(file);
  renameSync(snapshot, file);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

/**
 * Copies the snapshot's content into the live replica `file` with SQLite's backup API: one
 * write transaction on `file`, so connections that hold it open see either the old state or
 * the new, never a mix, and keep their open read transactions until they end them.
 */
export async function restoreSnapshotInto(snapshot: string, file: string): Promise<void> {
  const src = new Database(snapshot, {readonly: true, fileMustExist: true});
  try {
    // All remaining pages in the next step: the shorter the destination is locked, the better.
    await src.backup(file, {progress: () => 1 << 30});
  } finally {
    src.close();
  }
  removeDbFiles(snapshot);
}
