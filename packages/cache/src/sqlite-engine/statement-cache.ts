// Prepared statements of the replica's read connections, shared by sources and snapshotters.
import type Database from 'better-sqlite3';

/**
 * Prepared statements by connection and SQL. Preparing costs more than running a small
 * query, and client groups that share a pinned connection run the same few shapes. A
 * statement is busy while an iterator over it is open (nested fetches of one shape, a
 * self-join, or another group's fetch), so each SQL keeps a small pool.
 */
export class StatementCache {
  readonly #byDb = new WeakMap<Database.Database, Map<string, Database.Statement[]>>();

  /** A statement of `sql` on `db` that no iterator is using; `raw`: rows as value arrays. */
  get(db: Database.Database, sql: string, raw = false): Database.Statement {
    let m = this.#byDb.get(db);
    if (!m) {
      m = new Map();
      this.#byDb.set(db, m);
    }
    const key = raw ? 'r' + sql : 'o' + sql;
    let pool = m.get(key);
    if (!pool) {
      pool = [];
      m.set(key, pool);
    }
    for (const s of pool) if (!s.busy) return s;
    const s = db.prepare(sql);
    if (raw) s.raw(true);
    pool.push(s);
    return s;
  }
}
