// The replication-manager's side of the change log in Postgres (docs/scale-out.md): one row
// per upstream transaction, written before the manager's replica commits it, and trimmed
// once every live follower has applied it.
import pg from 'pg';
import type {Logger} from '@zync/shared';
import {redactUrl, safeErrorMessage} from '../pg/redact-url.ts';
import {changeDbNames, type ChangeDbNames} from './change-db-names.ts';
import {encodeRowOps, type ChangeLogSink, type RowOp} from './row-ops.ts';

export interface ChangeLogWriterOptions {
  /** The database holding the change log (ZERO_CHANGE_DB). */
  readonly changeDbUrl: string;
  readonly appId: string;
  readonly lc: Logger;
}

export interface TrimResult {
  /** Changes at or below this version are gone ('' before the first trim). */
  readonly trimmedThrough: string;
  /** Change rows deleted by this trim. */
  readonly deleted: number;
  /** Nodes counted as live (seen within the timeout). */
  readonly liveNodes: number;
}

/** Nodes not seen for this many node timeouts are forgotten (their rows deleted). */
const FORGET_AFTER_TIMEOUTS = 10;

export class ChangeLogWriter implements ChangeLogSink {
  readonly #names: ChangeDbNames;
  readonly #pool: pg.Pool;
  readonly #lc: Logger;
  readonly #url: string;
  #committed: string | undefined;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #trimming: Promise<unknown> | undefined;

  constructor(opts: ChangeLogWriterOptions) {
    this.#names = changeDbNames(opts.appId);
    this.#url = opts.changeDbUrl;
    this.#lc = opts.lc.with({component: 'change-log-writer'});
    // Time limits: the replicator waits on `append`, and must not wait forever on a network
    // that dropped the connection without telling either end.
    this.#pool = new pg.Pool({
      connectionString: opts.changeDbUrl,
      max: 2,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      query_timeout: 60_000,
    });
    // A broken idle connection is dropped by the pool; the next query opens another.
    this.#pool.on('error', e =>
      this.#lc.warn('change-db connection lost', {error: safeErrorMessage(e)}),
    );
  }

  /** Creates the schema and tables if missing (idempotent). */
  async init(): Promise<void> {
    const s = this.#names.schema;
    const c = await this.#connect();
    try {
      await c.query('BEGIN');
      // Two managers starting at once must not race on the catalog.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [s]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.changes (
        version text PRIMARY KEY,
        ops bytea NOT NULL,
        reset boolean NOT NULL,
        created_at timestamptz DEFAULT now()
      )`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.nodes (
        node_id text PRIMARY KEY,
        version text NOT NULL,
        seen_at timestamptz NOT NULL
      )`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (
        id int PRIMARY KEY CHECK (id = 0),
        trimmed_through text NOT NULL
      )`);
      await c.query(`INSERT INTO ${s}.meta (id, trimmed_through) VALUES (0, '')
        ON CONFLICT (id) DO NOTHING`);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async append(version: string, ops: readonly RowOp[], reset: boolean): Promise<void> {
    if (this.#closed) throw new Error('the change-log writer is closed');
    const s = this.#names.schema;
    // One statement: the row and its notification commit together. A version stored before
    // (the manager crashed before its replica committed it) is neither stored nor announced
    // again; followers that missed it find it by polling.
    await this.#pool.query(
      `WITH ins AS (
         INSERT INTO ${s}.changes (version, ops, reset) VALUES ($1, $2, $3)
         ON CONFLICT (version) DO NOTHING RETURNING version
       ) SELECT pg_notify($4, version) FROM ins`,
      [version, encodeRowOps(ops), reset, this.#names.channelName],
    );
  }

  committed(version: string): void {
    if (this.#committed === undefined || version > this.#committed) this.#committed = version;
  }

  /**
   * Deletes the changes every live node has applied: up to the lowest version among the
   * nodes seen within `nodeTimeoutMs`, never past the manager's committed version, never
   * backwards. Without a committed version (nothing told yet) nothing is deleted.
   */
  async trim(nodeTimeoutMs: number): Promise<TrimResult> {
    if (!Number.isFinite(nodeTimeoutMs) || nodeTimeoutMs <= 0) {
      throw new TypeError('trim: nodeTimeoutMs must be a positive number of milliseconds');
    }
    const s = this.#names.schema;
    const cap = this.#committed;
    const c = await this.#connect();
    try {
      await c.query('BEGIN');
      const meta = await c.query<{trimmed_through: string}>(
        `SELECT trimmed_through FROM ${s}.meta WHERE id = 0 FOR UPDATE`,
      );
      const old = meta.rows[0]?.trimmed_through ?? '';
      const live = await c.query<{n: string; min: string | null}>(
        `SELECT count(*) AS n, min(version) AS min FROM ${s}.nodes
         WHERE seen_at > now() - make_interval(secs => $1::float8 / 1000)`,
        [nodeTimeoutMs],
      );
      const slowest = live.rows[0]!.min;
      let through = old;
      if (cap !== undefined) {
        const want = slowest !== null && slowest < cap ? slowest : cap;
        if (want > through) through = want;
      }
      let deleted = 0;
      if (through > old) {
        deleted =
          (await c.query(`DELETE FROM ${s}.changes WHERE version <= $1`, [through])).rowCount ?? 0;
        await c.query(`UPDATE ${s}.meta SET trimmed_through = $1 WHERE id = 0`, [through]);
      }
      await c.query(
        `DELETE FROM ${s}.nodes WHERE seen_at < now() - make_interval(secs => $1::float8 / 1000)`,
        [nodeTimeoutMs * FORGET_AFTER_TIMEOUTS],
      );
      await c.query('COMMIT');
      const liveNodes = Number(live.rows[0]!.n);
      if (deleted > 0) {
        this.#lc.debug('trimmed the change log', {through, deleted, liveNodes});
      }
      return {trimmedThrough: through, deleted, liveNodes};
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * Trims every `intervalMs` (default 10 s) until `close()`, with `nodeTimeoutMs` (the
   * ZERO_CHANGE_LOG_NODE_TIMEOUT_SECONDS, default 60 s). A failed trim is logged; the next one
   * tries again.
   */
  startTrimming(opts: {readonly nodeTimeoutMs: number; readonly intervalMs?: number}): void {
    if (this.#timer || this.#closed) return;
    const intervalMs = opts.intervalMs ?? 10_000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new TypeError('startTrimming: intervalMs must be a positive number of milliseconds');
    }
    this.#timer = setInterval(() => {
      if (this.#trimming) return;
      this.#trimming = this.trim(opts.nodeTimeoutMs)
        .catch(e => this.#lc.warn('trimming the change log failed', {error: safeErrorMessage(e)}))
        .finally(() => (this.#trimming = undefined));
    }, intervalMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#trimming;
    await this.#pool.end();
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (e) {
      throw new Error(
        `cannot connect to the change database ${redactUrl(this.#url)}: ${safeErrorMessage(e)}`,
        {cause: e},
      );
    }
  }
}
