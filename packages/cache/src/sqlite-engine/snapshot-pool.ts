// The pinned read connections of one replica file, shared by its snapshotters.
import Database from 'better-sqlite3';
import {StatementCache} from './statement-cache.ts';

/** A connection holding a read transaction pinned at `version`, used by `refs` snapshotters. */
export type Snap = {
  readonly db: Database.Database;
  readonly version: string;
  readonly floor: string;
  /** The probe's `data_version` read before pinning (see SnapshotPool.acquire). */
  dataVersion: number;
  refs: number;
};

type StateRow = {version: string; changelog_floor: string};

// When every client group held two connections of its own, SQLite's default page cache
// (2 MiB each) filled by one table scan made 50 groups cost ~200 MiB of zero-cache's RSS;
// the replica file stays in the OS page cache, so a small cache per connection costs
// little (pages are re-read with a syscall, not from disk).
const PAGE_CACHE_KIB = 256;

function openConnection(file: string): Database.Database {
  const db = new Database(file, {readonly: true, fileMustExist: true});
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  return db;
}

const STATE_SQL = `SELECT version, changelog_floor FROM _zync_replication_state WHERE id = 0`;

/**
 * The read connections of one replica file. A snapshot is a connection holding a read
 * transaction, and snapshotters at the same version share it: after one upstream write,
 * every client group advances to the same new version, and pinning it once instead of
 * once per group saves the read transaction's setup (and its page reads) for all but the
 * first. A shared pool checks with `PRAGMA data_version` on a spare connection whether
 * anything was committed since the newest snapshot was pinned, which costs a fraction
 * of pinning.
 */
export class SnapshotPool {
  readonly #file: string;
  readonly #shared: boolean;
  /** Prepared statements on the pool's connections, shared by its snapshotters. */
  readonly stmts = new StatementCache();
  readonly #free: Database.Database[] = [];
  #probe: Database.Statement | undefined;
  /** The snapshot pinned last, while some snapshotter holds it. */
  #latest: Snap | undefined;
  #closed = false;

  /**
   * `shared`: snapshotters acquiring the newest version may share a snapshot. A pool of
   * one snapshotter pins a fresh one every time (no probe connection).
   */
  constructor(file: string, shared = true) {
    this.#file = file;
    this.#shared = shared;
  }

  /** A snapshot of the newest version; give it back with `release`. */
  acquire(): Snap {
    if (this.#closed) throw new TypeError('the snapshot pool is closed');
    let dataVersion = 0;
    if (this.#shared) {
      this.#probe ??= openConnection(this.#file).prepare('PRAGMA data_version').pluck();
      dataVersion = this.#probe.get() as number;
      const latest = this.#latest;
      // Nothing was committed since before `latest` was pinned: it is the newest version.
      if (latest && latest.refs > 0 && latest.dataVersion === dataVersion) {
        latest.refs++;
        return latest;
      }
    }
    const db = this.#free.pop() ?? openConnection(this.#file);
    let snap: Snap;
    try {
      snap = this.#pin(db, dataVersion);
    } catch (e) {
      this.#free.push(db);
      throw e;
    }
    const latest = this.#latest;
    if (latest && latest.refs > 0 && latest.version === snap.version) {
      // Committed, but not a new version (a pruned change log, say): still the newest.
      this.release(snap);
      latest.dataVersion = dataVersion;
      latest.refs++;
      return latest;
    }
    if (this.#shared) this.#latest = snap;
    return snap;
  }

  /** Gives back one reference; the last one ends the read transaction. */
  release(snap: Snap): void {
    if (--snap.refs > 0) return;
    if (this.#latest === snap) this.#latest = undefined;
    try {
      this.stmts.get(snap.db, 'COMMIT').run();
    } catch {
      // Still busy (an iterator we do not know of): leave the connection to the GC.
      return;
    }
    if (this.#closed || this.#free.length >= MAX_FREE) closeQuietly(snap.db);
    else this.#free.push(snap.db);
  }

  /** Starts a read transaction and reads through it, which pins the snapshot. */
  #pin(db: Database.Database, dataVersion: number): Snap {
    this.stmts.get(db, 'BEGIN').run();
    const row = this.stmts.get(db, STATE_SQL).get() as StateRow | undefined;
    if (!row) {
      db.exec('ROLLBACK');
      throw new Error('the replica has not finished its initial copy');
    }
    return {db, version: row.version, floor: row.changelog_floor, dataVersion, refs: 1};
  }

  /** Closes the idle connections now and the others as they are released. */
  close(): void {
    this.#closed = true;
    for (const db of this.#free.splice(0)) closeQuietly(db);
    if (this.#probe) closeQuietly(this.#probe.database);
    this.#probe = undefined;
  }
}

/** Idle connections kept for the next versions (the spare of ping-pong, and one more). */
const MAX_FREE = 2;

export function closeQuietly(db: Database.Database): void {
  try {
    db.close();
  } catch {
    // already closed
  }
}
