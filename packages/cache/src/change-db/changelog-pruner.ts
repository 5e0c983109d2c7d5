// Keeps a replica's `_zync_changelog` to its retention period, for the Replicator and the
// ChangeFollower alike: versions are sampled as they arrive, and entries at or below the
// newest sample older than the retention are deleted (raising `changelog_floor`).
import type Database from 'better-sqlite3';

/** Named as in the options of the Replicator and the ChangeFollower, which pass theirs. */
export interface ChangelogPrunerOptions {
  /** How long change-log entries are kept (default 5 minutes). */
  readonly changeLogRetentionMs?: number | undefined;
  /** How often pruning is considered, after a commit (default 30 s). */
  readonly changeLogPruneIntervalMs?: number | undefined;
  /** The clock the entries' age is measured by (default `Date.now`). */
  readonly now?: (() => number) | undefined;
}

export class ChangelogPruner {
  readonly #keepMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #samples: {at: number; version: string}[] = [];
  #lastPrune: number;

  constructor(opts: ChangelogPrunerOptions) {
    this.#keepMs = opts.changeLogRetentionMs ?? 5 * 60_000;
    this.#intervalMs = opts.changeLogPruneIntervalMs ?? 30_000;
    this.#now = opts.now ?? Date.now;
    this.#lastPrune = this.#now();
  }

  /** Notes that `version` was committed; prunes `db` when it is time. Returns entries deleted. */
  advanced(db: Database.Database, version: string): number {
    const now = this.#now();
    const last = this.#samples[this.#samples.length - 1];
    if (!last || now - last.at > Math.min(5_000, this.#keepMs / 4)) {
      this.#samples.push({at: now, version});
    }
    if (now - this.#lastPrune <= this.#intervalMs) return 0;
    this.#lastPrune = now;
    let floor: string | undefined;
    while (this.#samples.length > 0 && now - this.#samples[0]!.at > this.#keepMs) {
      floor = this.#samples.shift()!.version;
    }
    if (!floor) return 0;
    const f = floor;
    return db.transaction(() => {
      const n = db.prepare(`DELETE FROM _zync_changelog WHERE version <= ?`).run(f).changes;
      db.prepare(
        `UPDATE _zync_replication_state SET changelog_floor = max(changelog_floor, ?) WHERE id = 0`,
      ).run(f);
      return n;
    })();
  }
}
