// Reading the replica's change log: the keys changed in a range of versions, and the
// cache of decoded ranges shared by the snapshotters of one replica file.
import type Database from 'better-sqlite3';
import {toParam, type SqlParam} from './sqlite-filter.ts';
import type {StatementCache} from './statement-cache.ts';

export type ResetReason = 'truncate' | 'reset' | 'changelog-pruned';

const RESET_SQL = `SELECT op FROM _zync_changelog WHERE version > ? AND version <= ?
  AND op IN ('truncate', 'reset') LIMIT 1`;
const ENTRIES_SQL = `SELECT tbl, key FROM _zync_changelog WHERE version > ? AND version <= ?
  AND key IS NOT NULL ORDER BY version, seq`;

/** One key changed in a range of the change log, first occurrence first. */
type LogEntry = {readonly table: string; readonly id: string; readonly params: SqlParam[]};

/** A key's rows at both ends of a range, as raw values read with a source's select list. */
export type NetRows = {
  readonly select: string;
  readonly old: readonly unknown[] | undefined;
  readonly now: readonly unknown[] | undefined;
  /** Present at both ends with the same values (a no-op update, or changed back). */
  readonly same: boolean;
};

/** What the change log says about the versions (from, to]. */
export type ChangeLogRange = {
  readonly reset: ResetReason | undefined;
  readonly entries: readonly LogEntry[];
  /** Filled as groups look keys up: the rows of one version never change. */
  readonly rows: Map<string, NetRows>;
};

/**
 * The decoded change log of the last few version ranges. One upstream write makes every
 * client group's snapshot (shared or not, see SnapshotPool) advance over the same (from, to]:
 * the first reads the log and looks the changed keys up, the others reuse it. A version
 * names one state of the replica, so what one connection read of it holds for all.
 */
export class ChangeLogCache {
  readonly #ranges = new Map<string, ChangeLogRange>();
  readonly #maxEntries: number;
  #entries = 0;

  /** `maxEntries` bounds the change-log entries held over all ranges. */
  constructor(maxEntries = 50_000) {
    this.#maxEntries = maxEntries;
  }

  get(from: string, to: string): ChangeLogRange | undefined {
    return this.#ranges.get(`${from}\u0000${to}`);
  }

  /** Keeps `range` unless it alone is over the bound, dropping the oldest to make room. */
  set(from: string, to: string, range: ChangeLogRange): void {
    const n = range.entries.length;
    if (n > this.#maxEntries) return;
    for (const [key, r] of this.#ranges) {
      if (this.#entries + n <= this.#maxEntries) break;
      this.#ranges.delete(key);
      this.#entries -= r.entries.length;
    }
    this.#ranges.set(`${from}\u0000${to}`, range);
    this.#entries += n;
  }

  /** Number of ranges held. */
  get size(): number {
    return this.#ranges.size;
  }
}

/** Reads the change log of (from, to] through a connection pinned at `to` (or later). */
export function readRange(
  db: Database.Database,
  stmts: StatementCache,
  from: string,
  to: string,
): ChangeLogRange {
  const reset = (stmts.get(db, RESET_SQL).get(from, to) as {op: ResetReason} | undefined)?.op;
  const entries: LogEntry[] = [];
  if (!reset) {
    const seen = new Set<string>();
    for (const [table, key] of stmts.get(db, ENTRIES_SQL, true).all(from, to) as [
      string,
      string,
    ][]) {
      const id = `${table}\u0000${key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const params = (JSON.parse(key) as (string | number | boolean | null)[]).map(toParam);
      entries.push({table, id, params});
    }
  }
  return {reset, entries, rows: new Map()};
}
