// A snapshot source for tests: copies the manager's replica file with `VACUUM INTO`, as the
// snapshot server does, without HTTP in between. It copies at once, whatever version the
// follower asks for, so the tests also see the follower refuse a copy that is too old.
import Database from 'better-sqlite3';
import type {SnapshotSource} from '../src/change-db/change-follower.ts';

export interface CountingSnapshots extends SnapshotSource {
  /** Snapshots handed out so far. */
  readonly count: () => number;
}

export function vacuumSnapshots(replicaFile: string): CountingSnapshots {
  let n = 0;
  return {
    count: () => n,
    download(toFile: string) {
      const src = new Database(replicaFile, {readonly: true, fileMustExist: true});
      try {
        src.prepare('VACUUM INTO ?').run(toFile);
      } finally {
        src.close();
      }
      const copy = new Database(toFile, {readonly: true});
      try {
        const row = copy.prepare(`SELECT version FROM _zync_replication_state`).get() as {
          version: string;
        };
        n++;
        return Promise.resolve({version: row.version});
      } finally {
        copy.close();
      }
    },
  };
}
