// A client group belongs to one identity: the first connection pins the group to its
// identity (see group-identity.ts: the verified token `sub`, or "anonymous"), and a
// connection with another identity is refused. Otherwise anyone who learns a group's ID
// could join it and be poked its rows from the group's shared CVR. Pins live in the CVR
// schema (a table of our own beside the CVR tables) so they survive restarts and hold
// across nodes.
import type pg from 'pg';
import {quoteIdent, type Logger} from '@zync/shared';
import {cvrSchemaName} from '../cvr/cvr-store.ts';
import type {GroupClaimant} from './group-identity.ts';

export interface GroupPins {
  /** Creates storage if needed; called once at start. */
  init(): Promise<void>;
  /** Pins the group to `who` if it is new; returns whether `who` owns the group. */
  claim(groupID: string, who: GroupClaimant): Promise<boolean>;
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
  claim(groupID: string, who: GroupClaimant): Promise<boolean> {
    const owner = this.#pins.get(groupID);
    if (owner === undefined) this.#pins.set(groupID, who.identity);
    return Promise.resolve((owner ?? who.identity) === who.identity);
  }
}

type Pin = {user_id: string; identity: string | null};

/** Holds at most this many pins in memory; the table is the truth. */
const CACHE_LIMIT = 10_000;

export class PgGroupPins implements GroupPins {
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #schema: string;
  readonly #lc: Logger;
  /** Bound pins never change, so a cached owner stays right. */
  readonly #cache = new Map<string, string>();

  constructor(pool: pg.Pool, appID: string, logger: Logger) {
    this.#pool = pool;
    this.#schema = quoteIdent(cvrSchemaName(appID));
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
    // Pins made before groups were bound to identities hold only a userID (identity null).
    await this.#pool.query(`ALTER TABLE ${this.#table} ADD COLUMN IF NOT EXISTS identity text`);
  }

  async claim(groupID: string, who: GroupClaimant): Promise<boolean> {
    let owner = this.#cache.get(groupID);
    if (owner === undefined) {
      owner = await this.#read(groupID, who);
      if (owner !== undefined) {
        if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(groupID, owner);
      }
    }
    if (owner !== who.identity) {
      // No group ID here: it is the one secret a client group has.
      this.#lc.warn('Refused a connection into a client group bound to another identity');
      return false;
    }
    return true;
  }

  /**
   * The group's owning identity, pinning it to `who` if the group is new; undefined for an
   * old pin of another userID that no identity is bound to yet.
   */
  async #read(groupID: string, who: GroupClaimant): Promise<string | undefined> {
    // Insert-or-read in one statement: two first connections racing get one owner.
    const {rows} = await this.#pool.query<Pin>(
      `WITH ins AS (
         INSERT INTO ${this.#table} (group_id, user_id, identity) VALUES ($1, $2, $3)
         ON CONFLICT (group_id) DO NOTHING RETURNING user_id, identity)
       SELECT user_id, identity FROM ins
       UNION ALL SELECT user_id, identity FROM ${this.#table} WHERE group_id = $1
       LIMIT 1`,
      [groupID, who.userID, who.identity],
    );
    let pin = rows[0];
    if (pin === undefined) {
      // A concurrent first connection committed after this statement's snapshot.
      pin = (await this.#select(groupID)).rows[0];
    }
    if (pin === undefined) throw new Error('group pin could not be read');
    if (pin.identity !== null) return pin.identity;
    // An old pin (userID only): the first connection of that user binds its identity.
    if (pin.user_id !== who.userID) return undefined;
    await this.#pool.query(
      `UPDATE ${this.#table} SET identity = $2 WHERE group_id = $1 AND identity IS NULL`,
      [groupID, who.identity],
    );
    const bound = (await this.#select(groupID)).rows[0]?.identity;
    if (bound === undefined || bound === null) throw new Error('group pin could not be read');
    return bound;
  }

  #select(groupID: string) {
    return this.#pool.query<Pin>(
      `SELECT user_id, identity FROM ${this.#table} WHERE group_id = $1`,
      [groupID],
    );
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
