// A client group belongs to one user: the first connection pins the group to its userID,
// and a connection for another user is refused. Otherwise user B could join user A's group
// and be poked A's rows from the group's shared CVR. Pins live in the CVR schema (a table of
// our own beside the CVR tables) so they survive restarts and hold across nodes.
import type pg from 'pg';
import type {Logger} from '@zync/shared';
import {cvrSchemaName} from '../sync/cvr-store.ts';

export interface GroupPins {
  /** Creates storage if needed; called once at start. */
  init(): Promise<void>;
  /** Pins the group to `userID` if it is new; returns whether `userID` owns the group. */
  claim(groupID: string, userID: string): Promise<boolean>;
  /**
   * Forgets pins older than `olderThanMs` whose group has no CVR any more (purged, see
   * CVRStore.purgeInactive); returns how many.
   */
  purge?(olderThanMs: number): Promise<number>;
}

/** Pins kept in memory (tests, single-process use without Postgres). */
export class MemoryGroupPins implements GroupPins {
  readonly #pins = new Map<string, string>();
  init(): Promise<void> {
    return Promise.resolve();
  }
  claim(groupID: string, userID: string): Promise<boolean> {
    const owner = this.#pins.get(groupID);
    if (owner === undefined) this.#pins.set(groupID, userID);
    return Promise.resolve((owner ?? userID) === userID);
  }
}

/** Holds at most this many pins in memory; the table is the truth. */
const CACHE_LIMIT = 10_000;

export class PgGroupPins implements GroupPins {
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #schema: string;
  readonly #lc: Logger;
  /** Pins never change once set, so a cached owner stays right. */
  readonly #cache = new Map<string, string>();

  constructor(pool: pg.Pool, appID: string, logger: Logger) {
    this.#pool = pool;
    this.#schema = `"${cvrSchemaName(appID)}"`;
    this.#table = `${this.#schema}.group_users`;
    this.#lc = logger.with({component: 'group-pins'});
  }

  async init(): Promise<void> {
    await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
    await this.#pool.query(`
      CREATE TABLE IF NOT EXISTS ${this.#table} (
        group_id text PRIMARY KEY,
        user_id text NOT NULL,
        pinned_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async claim(groupID: string, userID: string): Promise<boolean> {
    let owner = this.#cache.get(groupID);
    if (owner === undefined) {
      // Insert-or-read in one statement: two first connections racing get one owner.
      const {rows} = await this.#pool.query<{user_id: string}>(
        `WITH ins AS (
           INSERT INTO ${this.#table} (group_id, user_id) VALUES ($1, $2)
           ON CONFLICT (group_id) DO NOTHING RETURNING user_id)
         SELECT user_id FROM ins
         UNION ALL SELECT user_id FROM ${this.#table} WHERE group_id = $1
         LIMIT 1`,
        [groupID, userID],
      );
      owner = rows[0]?.user_id;
      if (owner === undefined) {
        // A concurrent first connection committed after this statement's snapshot.
        const again = await this.#pool.query<{user_id: string}>(
          `SELECT user_id FROM ${this.#table} WHERE group_id = $1`,
          [groupID],
        );
        owner = again.rows[0]?.user_id;
      }
      if (owner === undefined) throw new Error('group pin could not be read');
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(groupID, owner);
    }
    if (owner !== userID) {
      this.#lc.warn('Refused a connection into a group pinned to another user', {groupID});
      return false;
    }
    return true;
  }

  async purge(olderThanMs: number): Promise<number> {
    const {rows} = await this.#pool.query<{group_id: string}>(
      `DELETE FROM ${this.#table} u
       WHERE pinned_at < now() - make_interval(secs => $1::float8 / 1000)
         AND NOT EXISTS (SELECT 1 FROM ${this.#schema}.groups g WHERE g.group_id = u.group_id)
       RETURNING group_id`,
      [olderThanMs],
    );
    for (const r of rows) this.#cache.delete(r.group_id);
    return rows.length;
  }
}
