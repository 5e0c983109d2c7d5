// Keeps CVRs in Postgres, in a schema of their own (`zync_<appid>_cvr`). Each flush is
// atomic; rows go as JSON arrays (no parameter limit), built and sent a chunk at a time.
// See docs/cvr.md for the crash semantics (the `owned` flag).
import type pg from 'pg';
import {shardNames} from '@zync/pg';
import {describeUnstorable, findUnstorableString, type AST, type RowValue} from '@zync/protocol';
import {quoteIdent, type Logger, type ReadonlyJSONValue} from '@zync/shared';
import {CVR, queryFromRecord, rowFromRecord, type CVRQuery, type CVRWrites} from './cvr.ts';
import {RowRecords} from './cvr-rows.ts';
import {rowCount, wireChunks, type WireRun} from './cvr-writes.ts';
import {newEpoch} from './cvr-version.ts';

/**
 * 2: row keys and content hashes changed form (row-key.ts, poke-encoder.ts). CVRs are a
 * cache of what clients hold, so a version-1 store is emptied: its clients get a reset.
 */
const SCHEMA_VERSION = 2;
/**
 * Rows per statement when writing a large batch. Each chunk's keys and JSON are built just
 * before it is sent, so a write's short-lived objects stay this small.
 */
const ROW_CHUNK = 2000;

export type LoadedCVR = {
  readonly cvr: CVR;
  /**
   * True when the group was still marked as owned: its last owner stopped without
   * releasing it (a crash), so pokes may have gone out that the CVR never recorded. The
   * epoch was renewed, so every client of the group gets a reset.
   */
  readonly tookOver: boolean;
  /**
   * True when the store had no CVR for the group (never seen, or purged after inactivity):
   * a client that comes with a cookie holds state this server no longer knows.
   */
  readonly created: boolean;
};

type PendingFlush = {
  readonly w: CVRWrites;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
};

/** The CVR schema of an app, `zync_<appID>_cvr` (a TypeError for an invalid app id). */
export function cvrSchemaName(appID: string): string {
  return shardNames(appID).cvrSchema;
}

export class CVRStore {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #lc: Logger;

  readonly #sql: ReturnType<typeof flushStatements>;
  /** Small flushes waiting for the end of this turn of the event loop. */
  readonly #pending: PendingFlush[] = [];

  constructor(pool: pg.Pool, appID: string, logger: Logger) {
    this.#pool = pool;
    this.#schema = quoteIdent(cvrSchemaName(appID));
    this.#lc = logger.with({component: 'cvr-store'});
    this.#sql = flushStatements(this.#schema);
  }

  /** Creates the schema and tables if needed. Safe to run from several processes. */
  async init(): Promise<void> {
    const s = this.#schema;
    await this.#tx(async c => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [s]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (version int NOT NULL)`);
      const {rows} = await c.query<{version: number}>(`SELECT version FROM ${s}.meta`);
      const current = rows[0]?.version ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new Error(`CVR schema version ${current} is newer than this server supports`);
      }
      if (current === SCHEMA_VERSION) return;
      if (current === 1) {
        await c.query(`TRUNCATE ${s}.groups, ${s}.queries, ${s}.rows`);
        await c.query(`UPDATE ${s}.meta SET version = ${SCHEMA_VERSION}`);
        return;
      }
      await c.query(`
        CREATE TABLE ${s}.groups (
          group_id text PRIMARY KEY,
          epoch text NOT NULL,
          seq bigint NOT NULL,
          horizon bigint NOT NULL,
          replica_version text,
          owned boolean NOT NULL,
          last_active timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE ${s}.queries (
          group_id text NOT NULL,
          hash text NOT NULL,
          ast jsonb,
          name text,
          args jsonb,
          desired_by jsonb NOT NULL,
          ttl_ms bigint NOT NULL,
          inactive_since bigint,
          got_seq bigint,
          replica_version text,
          patch_seq bigint NOT NULL,
          deleted boolean NOT NULL,
          PRIMARY KEY (group_id, hash)
        );
        CREATE TABLE ${s}.rows (
          group_id text NOT NULL,
          row_key text NOT NULL,
          tbl text NOT NULL,
          row_id jsonb NOT NULL,
          content_hash text,
          refs jsonb NOT NULL,
          patch_seq bigint NOT NULL,
          deleted boolean NOT NULL,
          PRIMARY KEY (group_id, row_key)
        );
        INSERT INTO ${s}.meta (version) VALUES (${SCHEMA_VERSION});
      `);
    });
  }

  /**
   * Loads (or creates) a group's CVR and marks it owned by this process. A new group (most
   * connects) is created by one statement outside a transaction: one round trip instead
   * of four. A group that exists is read and taken in a transaction, as before.
   */
  async load(groupID: string): Promise<LoadedCVR> {
    const s = this.#schema;
    const fresh = CVR.empty(groupID, newEpoch());
    const {rowCount} = await this.#pool.query({
      name: `${s}-create`,
      text: `INSERT INTO ${s}.groups (group_id, epoch, seq, horizon, owned) VALUES ($1, $2, 0, 0, true)
        ON CONFLICT (group_id) DO NOTHING`,
      values: [groupID, fresh.state.epoch],
    });
    if (rowCount === 1) return {cvr: fresh, tookOver: false, created: true};
    return this.#tx(async c => {
      const g = await c.query<{
        epoch: string;
        seq: string;
        horizon: string;
        replica_version: string | null;
        owned: boolean;
      }>(
        `SELECT epoch, seq, horizon, replica_version, owned FROM ${s}.groups WHERE group_id = $1 FOR UPDATE`,
        [groupID],
      );
      const group = g.rows[0];
      if (!group) {
        // Purged between the two statements.
        const cvr = CVR.empty(groupID, newEpoch());
        await c.query(
          `INSERT INTO ${s}.groups (group_id, epoch, seq, horizon, owned) VALUES ($1, $2, 0, 0, true)`,
          [groupID, cvr.state.epoch],
        );
        return {cvr, tookOver: false, created: true};
      }
      const tookOver = group.owned;
      const epoch = tookOver ? newEpoch() : group.epoch;
      await c.query(`UPDATE ${s}.groups SET owned = true, epoch = $2 WHERE group_id = $1`, [
        groupID,
        epoch,
      ]);
      const q = await c.query<{
        hash: string;
        ast: AST | null;
        name: string | null;
        args: ReadonlyJSONValue[] | null;
        desired_by: Record<string, number>;
        ttl_ms: string;
        inactive_since: string | null;
        got_seq: string | null;
        replica_version: string | null;
        patch_seq: string;
        deleted: boolean;
      }>(`SELECT * FROM ${s}.queries WHERE group_id = $1`, [groupID]);
      const queries = new Map<string, CVRQuery>();
      for (const r of q.rows) {
        queries.set(
          r.hash,
          queryFromRecord({
            hash: r.hash,
            ast: r.ast,
            name: r.name,
            args: r.args,
            desiredBy: r.desired_by,
            ttlMs: Number(r.ttl_ms),
            inactiveSince: r.inactive_since === null ? null : Number(r.inactive_since),
            gotSeq: r.got_seq === null ? null : Number(r.got_seq),
            replicaVersion: r.replica_version,
            patchSeq: Number(r.patch_seq),
            deleted: r.deleted,
          }),
        );
      }
      const rr = await c.query<{
        row_key: string;
        tbl: string;
        row_id: RowValue;
        content_hash: string | null;
        refs: Record<string, number>;
        patch_seq: string;
        deleted: boolean;
      }>(`SELECT * FROM ${s}.rows WHERE group_id = $1`, [groupID]);
      const rows = new RowRecords();
      for (const r of rr.rows) {
        rows.set(
          rowFromRecord({
            key: r.row_key,
            table: r.tbl,
            id: r.row_id,
            contentHash: r.content_hash === null ? null : Number(r.content_hash),
            refs: r.refs,
            patchSeq: Number(r.patch_seq),
            deleted: r.deleted,
          }),
        );
      }
      if (tookOver) {
        this.#lc.warn('Took over a CVR that was not released; its clients will be reset', {
          clientGroupID: groupID,
        });
      }
      const cvr = new CVR({
        groupID,
        epoch,
        seq: Number(group.seq),
        horizon: Number(group.horizon),
        replicaVersion: group.replica_version,
        queries,
        rows,
      });
      return {cvr, tookOver, created: false};
    });
  }

  /**
   * Writes one batch of changes of one group atomically. Small batches (a step or a few
   * merged steps) of all groups that flush in the same turn of the event loop are written
   * together, as one statement with data-modifying CTEs: one round trip for a replica
   * change that woke 50 groups, instead of a transaction of four or more per group.
   * Larger batches are written in chunks inside a transaction of their own.
   */
  flush(w: CVRWrites): Promise<void> {
    const bad = unstorable(w);
    if (bad) return Promise.reject(new Error(bad));
    if (rowCount(w.rows) + w.deletedRows.length > ROW_CHUNK) return this.#flushLarge(w);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({w, resolve, reject});
      if (this.#pending.length === 1) setImmediate(() => this.#flushPending());
    });
  }

  #flushPending(): void {
    const all = this.#pending.splice(0);
    let batch: PendingFlush[] = [];
    let size = 0;
    const groups = new Set<string>();
    const send = () => {
      if (batch.length === 0) return;
      const b = batch;
      batch = [];
      size = 0;
      groups.clear();
      this.#writeMany(b).then(
        () => b.forEach(x => x.resolve()),
        (e: unknown) => {
          if (b.length === 1) {
            b[0]!.reject(e);
            return;
          }
          // One group's bad data must not fail the others' writes: each is tried alone.
          this.#lc.warn('A shared CVR write failed; writing its groups one by one', {
            groups: b.length,
            error: e instanceof Error ? e.message.slice(0, 200) : 'unknown',
          });
          for (const x of b) this.#writeMany([x]).then(x.resolve, x.reject);
        },
      );
    };
    for (const p of all) {
      // One statement must not write a group twice (a group's flushes are sequential, so
      // this does not happen; it would only split the batch).
      if (groups.has(p.w.group.groupID) || size > ROW_CHUNK) send();
      batch.push(p);
      groups.add(p.w.group.groupID);
      size += rowCount(p.w.rows) + p.w.deletedRows.length + p.w.queries.length;
    }
    send();
  }

  #writeMany(b: readonly PendingFlush[]): Promise<unknown> {
    return this.#pool.query({
      name: `${this.#schema}-flush`,
      text: this.#sql.flushMany,
      values: [JSON.stringify(b.map(x => ({...x.w, rows: wireRows(x.w)})))],
    });
  }

  async #flushLarge(w: CVRWrites): Promise<void> {
    const id = w.group.groupID;
    const g = w.group;
    await this.#tx(async c => {
      await c.query(this.#sql.upsertGroup, [id, g.epoch, g.seq, g.horizon, g.replicaVersion]);
      await c.query(this.#sql.deleteQueries, [id, w.deletedQueries]);
      await c.query(this.#sql.upsertQueries, [id, JSON.stringify(w.queries)]);
      for (let i = 0; i < w.deletedRows.length; i += ROW_CHUNK) {
        await c.query(this.#sql.deleteRows, [id, w.deletedRows.slice(i, i + ROW_CHUNK)]);
      }
      for (const chunk of wireChunks(w.rows, ROW_CHUNK)) {
        await c.query(this.#sql.upsertRows, [id, JSON.stringify(chunk)]);
      }
    });
  }

  /** Marks the group as cleanly released (every poke it sent is recorded). */
  async release(groupID: string): Promise<void> {
    // The inactivity of a released group (see purgeInactive) counts from its release.
    await this.#pool.query(
      `UPDATE ${this.#schema}.groups SET owned = false, last_active = now() WHERE group_id = $1`,
      [groupID],
    );
  }

  /**
   * Deletes one group's CVR (an operator's drop); with `onlyIfReleased`, only when no
   * process holds it. Returns whether it was deleted.
   */
  async deleteGroup(groupID: string, onlyIfReleased: boolean): Promise<boolean> {
    const s = this.#schema;
    return this.#tx(async c => {
      const {rowCount} = await c.query(
        `DELETE FROM ${s}.groups WHERE group_id = $1 ${onlyIfReleased ? 'AND NOT owned' : ''}`,
        [groupID],
      );
      if (!rowCount) return false;
      await c.query(`DELETE FROM ${s}.queries WHERE group_id = $1`, [groupID]);
      await c.query(`DELETE FROM ${s}.rows WHERE group_id = $1`, [groupID]);
      return true;
    });
  }

  /**
   * Deletes the CVRs of up to `limit` groups no process holds (released, `owned` false)
   * that were last active more than `inactiveMs` ago, oldest first; returns how many. A
   * client of such a group that comes back gets a new CVR: a reset, then deltas again.
   * Groups being loaded meanwhile are skipped (their row is locked).
   */
  async purgeInactive(inactiveMs: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    const s = this.#schema;
    const {rows} = await this.#pool.query<{n: string}>(
      `WITH victims AS (
         SELECT group_id FROM ${s}.groups
         WHERE NOT owned AND last_active < now() - make_interval(secs => $1::float8 / 1000)
         ORDER BY last_active LIMIT $2 FOR UPDATE SKIP LOCKED),
       dr AS (DELETE FROM ${s}.rows r USING victims v WHERE r.group_id = v.group_id),
       dq AS (DELETE FROM ${s}.queries q USING victims v WHERE q.group_id = v.group_id),
       dg AS (DELETE FROM ${s}.groups g USING victims v WHERE g.group_id = v.group_id
              RETURNING 1)
       SELECT count(*) AS n FROM dg`,
      [inactiveMs, limit],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }
}

/**
 * Why Postgres could not store a group's writes, or undefined. Connections refuse such
 * strings on arrival; this is the last line, so that nothing reaches a statement shared
 * with other groups. Row records are not walked: their keys and ids come from the replica,
 * which holds only what Postgres held.
 */
function unstorable(w: CVRWrites): string | undefined {
  const bad = findUnstorableString([
    w.group.groupID,
    w.deletedQueries,
    w.queries.map(q => [q.hash, q.ast, q.name, q.args, Object.keys(q.desiredBy)]),
  ]);
  return bad ? describeUnstorable(bad, 'CVR write refused') : undefined;
}

/**
 * The statements of a flush. Records are passed as JSON arrays of `CVRQueryRecord`
 * objects (field names as in cvr.ts) and of `WireRun`s, so no parameter limit applies.
 * Group: $1 id, $2 epoch, $3 seq, $4 horizon, $5 replica version.
 */
function flushStatements(s: string) {
  const upsertGroup = (id: string) => `INSERT INTO ${s}.groups
      (group_id, epoch, seq, horizon, replica_version, owned)
    VALUES (${id}, $2, $3, $4, $5, true)
    ON CONFLICT (group_id) DO UPDATE SET epoch = $2, seq = $3, horizon = $4,
      replica_version = $5, last_active = now()`;
  const deleteQueries = (id: string, hashes: string) =>
    `DELETE FROM ${s}.queries WHERE group_id = ${id} AND hash = ANY(${hashes}::text[])`;
  const upsertQueries = (id: string, json: string) => `INSERT INTO ${s}.queries
      (group_id, hash, ast, name, args, desired_by, ttl_ms, inactive_since, got_seq,
       replica_version, patch_seq, deleted)
    SELECT ${id}, x.hash, x.ast, x.name, x.args, x."desiredBy", x."ttlMs", x."inactiveSince",
      x."gotSeq", x."replicaVersion", x."patchSeq", x.deleted
    FROM jsonb_to_recordset(${json}::jsonb) AS x(hash text, ast jsonb, name text, args jsonb,
      "desiredBy" jsonb, "ttlMs" bigint, "inactiveSince" bigint, "gotSeq" bigint,
      "replicaVersion" text, "patchSeq" bigint, deleted boolean)
    ON CONFLICT (group_id, hash) DO UPDATE SET ast = excluded.ast, name = excluded.name,
      args = excluded.args, desired_by = excluded.desired_by, ttl_ms = excluded.ttl_ms,
      inactive_since = excluded.inactive_since, got_seq = excluded.got_seq,
      replica_version = excluded.replica_version, patch_seq = excluded.patch_seq,
      deleted = excluded.deleted`;
  const deleteRows = (id: string, keys: string) =>
    `DELETE FROM ${s}.rows WHERE group_id = ${id} AND row_key = ANY(${keys}::text[])`;
  // Rows arrive as compact runs (see WireRun in cvr-writes.ts).
  const upsertRows = (id: string, runs: string) => `INSERT INTO ${s}.rows
      (group_id, row_key, tbl, row_id, content_hash, refs, patch_seq, deleted)
    SELECT ${id}, r->>0, run->>'t', r->1, r->>2, run->'r', (run->>'s')::bigint,
      (run->>'d')::boolean
    FROM jsonb_array_elements(${runs}::jsonb) AS run, jsonb_array_elements(run->'rows') AS r
    ON CONFLICT (group_id, row_key) DO UPDATE SET content_hash = excluded.content_hash,
      refs = excluded.refs, patch_seq = excluded.patch_seq, deleted = excluded.deleted`;
  return {
    upsertGroup: upsertGroup('$1'),
    deleteQueries: deleteQueries('$1', '$2'),
    upsertQueries: upsertQueries('$1', '$2'),
    deleteRows: deleteRows('$1', '$2'),
    upsertRows: upsertRows('$1', '$2'),
    // $1 is a JSON array of CVRWrites. Within one group the written and deleted key
    // sets are disjoint and each group appears once, so the CTEs, which all see the same
    // snapshot, never touch one row twice.
    flushMany: `WITH b AS (SELECT e, e->'group'->>'groupID' AS gid
        FROM jsonb_array_elements($1::jsonb) AS e),
      g AS (INSERT INTO ${s}.groups (group_id, epoch, seq, horizon, replica_version, owned)
        SELECT gid, e->'group'->>'epoch', (e->'group'->>'seq')::bigint,
          (e->'group'->>'horizon')::bigint, e->'group'->>'replicaVersion', true FROM b
        ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq,
          horizon = excluded.horizon, replica_version = excluded.replica_version,
          last_active = now()),
      dq AS (DELETE FROM ${s}.queries q
        USING b, jsonb_array_elements_text(b.e->'deletedQueries') AS d(hash)
        WHERE q.group_id = b.gid AND q.hash = d.hash),
      q AS (${upsertQueries('b.gid', "(b.e->'queries')").replace('FROM jsonb_to_recordset', 'FROM b, jsonb_to_recordset')}),
      dr AS (DELETE FROM ${s}.rows r
        USING b, jsonb_array_elements_text(b.e->'deletedRows') AS d(key)
        WHERE r.group_id = b.gid AND r.row_key = d.key),
      r AS (${upsertRows('b.gid', "(b.e->'rows')").replace('FROM jsonb_array_elements', 'FROM b, jsonb_array_elements')})
      SELECT 1`,
  };
}

/** All of a small write's rows in wire form. */
function wireRows(w: CVRWrites): WireRun[] {
  const out: WireRun[] = [];
  for (const chunk of wireChunks(w.rows, ROW_CHUNK)) out.push(...chunk);
  return out;
}
