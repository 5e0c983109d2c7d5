// Keeps CVRs in Postgres, in a schema of their own (`zync_<appid>_cvr`). Each flush is
// atomic; rows go as JSON arrays (no parameter limit), built and sent a chunk at a time.
// See docs/cvr.md for the crash semantics (the `owned` flag) and for ownership: a group
// is written only by the node that loaded it last (`owner_epoch`, cvr-ownership.ts).
import type pg from 'pg';
import {shardNames} from '@zync/pg';
import {describeUnstorable, findUnstorableString, type AST, type RowValue} from '@zync/protocol';
import {quoteIdent, type Logger, type ReadonlyJSONValue} from '@zync/shared';
import {CVR, queryFromRecord, rowFromRecord, type CVRQuery, type CVRWrites} from './cvr.ts';
import {RowRecords} from './cvr-rows.ts';
import {rowCount, wireChunks, type WireRun} from './cvr-writes.ts';
import {newEpoch} from './cvr-version.ts';
import {checkNodeID, CVROwnershipLost, defaultNodeID} from './cvr-ownership.ts';
import {migrateCVRSchema} from './cvr-schema.ts';
import {flushStatements} from './cvr-statements.ts';

/**
 * Rows per statement when writing a large batch. Each chunk's keys and JSON are built just
 * before it is sent, so a write's short-lived objects stay this small.
 */
const ROW_CHUNK = 2000;

export type LoadedCVR = {
  readonly cvr: CVR;
  /**
   * True when the group was still marked as owned: its last owner stopped without
   * releasing it (a crash), or another node still serves it (it then loses it: its next
   * write is refused). Pokes may have gone out that the CVR never recorded, so the epoch
   * was renewed: every client of the group gets a reset.
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

export type CVRStoreOptions = {
  /**
   * The id recorded as the owner of the groups this store loads (ZERO_TASK_ID); default:
   * unique to the process (host, pid, random).
   */
  readonly nodeID?: string | undefined;
};

export class CVRStore {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #lc: Logger;
  readonly nodeID: string;

  readonly #sql: ReturnType<typeof flushStatements>;
  /** Small flushes waiting for the end of this turn of the event loop. */
  readonly #pending: PendingFlush[] = [];

  constructor(pool: pg.Pool, appID: string, logger: Logger, options: CVRStoreOptions = {}) {
    this.nodeID = checkNodeID(options.nodeID ?? defaultNodeID());
    this.#pool = pool;
    this.#schema = quoteIdent(cvrSchemaName(appID));
    this.#lc = logger.with({component: 'cvr-store'});
    this.#sql = flushStatements(this.#schema);
  }

  /** Creates the schema and tables if needed. Safe to run from several processes. */
  async init(): Promise<void> {
    await this.#tx(c => migrateCVRSchema(c, this.#schema));
  }

  /**
   * Loads (or creates) a group's CVR and takes it over: marks it owned by this node and
   * raises its owner epoch, which the CVR keeps (`cvr.ownerEpoch`); from then on, writes
   * of any other node's copy of the group are refused.
   */
  async load(groupID: string): Promise<LoadedCVR> {
    // A second attempt only when another node created the group at the same moment.
    return (await this.#load(groupID)) ?? (await this.#load(groupID)) ?? this.#raced(groupID);
  }

  #raced(groupID: string): never {
    throw new Error(
      `Client group ${JSON.stringify(groupID)} was created and removed while loading`,
    );
  }

  #load(groupID: string): Promise<LoadedCVR | undefined> {
    const s = this.#schema;
    return this.#tx(async c => {
      const g = await c.query<{
        epoch: string;
        seq: string;
        horizon: string;
        replica_version: string | null;
        owned: boolean;
        owner: string | null;
      }>(
        `SELECT epoch, seq, horizon, replica_version, owned, owner FROM ${s}.groups WHERE group_id = $1 FOR UPDATE`,
        [groupID],
      );
      const group = g.rows[0];
      if (!group) {
        const cvr = CVR.empty(groupID, newEpoch());
        const {rowCount} = await c.query(
          `INSERT INTO ${s}.groups (group_id, epoch, seq, horizon, owned, owner, owner_epoch)
           VALUES ($1, $2, 0, 0, true, $3, 1) ON CONFLICT (group_id) DO NOTHING`,
          [groupID, cvr.state.epoch, this.nodeID],
        );
        if (!rowCount) return undefined;
        cvr.ownerEpoch = 1;
        return {cvr, tookOver: false, created: true};
      }
      const tookOver = group.owned;
      const epoch = tookOver ? newEpoch() : group.epoch;
      const taken = await c.query<{owner_epoch: string}>(
        `UPDATE ${s}.groups SET owned = true, epoch = $2, owner = $3,
           owner_epoch = owner_epoch + 1 WHERE group_id = $1 RETURNING owner_epoch`,
        [groupID, epoch, this.nodeID],
      );
      const ownerEpoch = Number(taken.rows[0]?.owner_epoch);
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
        // Node ids are host names and pids: no secret.
        const other = group.owner !== null && group.owner !== this.nodeID;
        this.#lc.warn(
          other
            ? 'Took over a CVR another node held; its clients there are sent here and reset'
            : 'Took over a CVR that was not released; its clients will be reset',
          {clientGroupID: groupID, previousOwner: group.owner ?? 'unknown'},
        );
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
      cvr.ownerEpoch = ownerEpoch;
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
        refused => b.forEach(x => this.#settle(x, refused)),
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
          for (const x of b) {
            this.#writeMany([x]).then(refused => this.#settle(x, refused), x.reject);
          }
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

  /** Writes the flushes in one statement; resolves with the groups it refused. */
  async #writeMany(b: readonly PendingFlush[]): Promise<ReadonlySet<string>> {
    const {rows} = await this.#pool.query<{refused: string}>({
      name: `${this.#schema}-flush`,
      text: this.#sql.flushMany,
      values: [JSON.stringify(b.map(x => ({...x.w, rows: wireRows(x.w)})))],
    });
    return new Set(rows.map(r => r.refused));
  }

  #settle(x: PendingFlush, refused: ReadonlySet<string>): void {
    const id = x.w.group.groupID;
    if (refused.has(id)) x.reject(new CVROwnershipLost(id));
    else x.resolve();
  }

  async #flushLarge(w: CVRWrites): Promise<void> {
    const id = w.group.groupID;
    const g = w.group;
    const owner = g.ownerEpoch;
    await this.#tx(async c => {
      const group = [id, g.epoch, g.seq, g.horizon, g.replicaVersion, owner];
      // Refused: the transaction is rolled back, nothing of the write lands.
      if (!(await c.query(this.#sql.updateGroup, group)).rowCount) throw new CVROwnershipLost(id);
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

  /**
   * Marks the group as cleanly released (every poke it sent is recorded), unless another
   * node took it over since `cvr` was loaded. Returns whether it was released.
   */
  async release(cvr: CVR): Promise<boolean> {
    // The inactivity of a released group (see purgeInactive) counts from its release.
    const {rowCount} = await this.#pool.query(
      `UPDATE ${this.#schema}.groups SET owned = false, last_active = now()
       WHERE group_id = $1 AND owner_epoch = $2`,
      [cvr.state.groupID, cvr.ownerEpoch],
    );
    return rowCount === 1;
  }

  /**
   * Deletes one group's CVR (an operator's drop): with `held`, the copy this node loaded,
   * only while no other node took the group over since; without, only when no node holds
   * it. Returns whether it was deleted.
   */
  async deleteGroup(groupID: string, held?: CVR): Promise<boolean> {
    const s = this.#schema;
    return this.#tx(async c => {
      const {rowCount} = await c.query(
        `DELETE FROM ${s}.groups WHERE group_id = $1 AND ${held ? 'owner_epoch = $2' : 'NOT owned'}`,
        held ? [groupID, held.ownerEpoch] : [groupID],
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

/** All of a small write's rows in wire form. */
function wireRows(w: CVRWrites): WireRun[] {
  const out: WireRun[] = [];
  for (const chunk of wireChunks(w.rows, ROW_CHUNK)) out.push(...chunk);
  return out;
}
