// A view-syncer's replica, filled from a snapshot of the replication-manager's and kept in
// step by the change log in Postgres (docs/scale-out.md). It has the Replicator's shape, so
// that the rest of zero-cache does not know which of the two feeds the replica.
import Database from 'better-sqlite3';
import {mkdirSync} from 'node:fs';
import {dirname} from 'node:path';
import pg from 'pg';
import type {Logger} from '@zync/shared';
import {redactUrl, safeErrorMessage} from '../pg/redact-url.ts';
import {removeDbFiles} from '../replicator/copy-process.ts';
import {FeedSignals, type VersionListener} from '../replica/replica-feed.ts';
import {changeDbNames, type ChangeDbNames} from './change-db-names.ts';
import {ChangelogPruner} from './changelog-pruner.ts';
import {
  checkSnapshot,
  placeSnapshot,
  restoreSnapshotInto,
  SnapshotError,
  usableReplicaVersion,
} from './replica-files.ts';
import {RowOpApplier} from './row-op-applier.ts';
import {decodeRowOps} from './row-ops.ts';

/** Where snapshots of the manager's replica come from (HTTP in production). */
export interface SnapshotSource {
  /**
   * Writes a complete replica file to `toFile` (which does not exist); returns its version.
   * `minVersion`, when given, is the oldest version the follower can use: the source may wait
   * for the manager's replica to reach it.
   */
  download(toFile: string, minVersion?: string): Promise<{version: string}>;
}

export interface ChangeFollowerOptions {
  /** The database holding the change log (ZERO_CHANGE_DB). */
  readonly changeDbUrl: string;
  readonly appId: string;
  readonly replicaFile: string;
  /** This node's id in the change log's `nodes` table (ZERO_TASK_ID). */
  readonly nodeId: string;
  readonly lc: Logger;
  readonly snapshots: SnapshotSource;
  /** The clock the replica's change-log age is measured by (default `Date.now`). */
  readonly now?: () => number;
  /** How long the replica's change-log entries are kept (default 5 minutes). */
  readonly changeLogRetentionMs?: number;
  /** How often pruning is considered, after a commit (default 30 s). */
  readonly changeLogPruneIntervalMs?: number;
  /** Reads the change log this often even without a notification (default 2 s). */
  readonly pollIntervalMs?: number;
  /** Reports this node's version this often (default 1 s). */
  readonly heartbeatIntervalMs?: number;
  /** Upper bound of the retry backoff (default 5 s). */
  readonly maxRetryDelayMs?: number;
  /** Change rows read per query (default 200). */
  readonly batchSize?: number;
}

type ChangeRow = {version: string; ops: Buffer; reset: boolean};

export class ChangeFollower {
  readonly ready: Promise<void>;
  readonly #opts: ChangeFollowerOptions;
  readonly #lc: Logger;
  readonly #names: ChangeDbNames;
  readonly #signals: FeedSignals;
  readonly #pruner: ChangelogPruner;
  #running: Promise<void> | undefined;
  #stopped = false;
  #client: pg.Client | undefined;
  #db: Database.Database | undefined;
  #applier: RowOpApplier | undefined;
  #version = '';
  /** The version this node reports before its replica is in place. */
  #claimed = '';
  #dirty = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The client runs one query at a time: heartbeats wait for the reads and back. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ChangeFollowerOptions) {
    if (opts.nodeId === '') throw new TypeError('ChangeFollower: nodeId must not be empty');
    this.#opts = opts;
    this.#names = changeDbNames(opts.appId);
    this.#lc = opts.lc.with({component: 'change-follower'});
    this.#pruner = new ChangelogPruner(opts);
    this.#signals = new FeedSignals(this.#lc, () => this.#stopped, opts.maxRetryDelayMs);
    this.ready = this.#signals.ready;
  }

  /** The replica's current version ('' before the first snapshot is in place). */
  get version(): string {
    return this.#version;
  }

  /** Calls `listener(version)` after each replica commit. Returns an unsubscribe function. */
  subscribe(listener: VersionListener): () => void {
    return this.#signals.subscribe(listener);
  }

  run(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#signals.wake();
    await this.#running?.catch(() => {});
  }

  async #run(): Promise<void> {
    try {
      const trimmed = await this.#retrying('connect to the change database', async () => {
        await this.#connect();
        return this.#trimmedThrough();
      });
      if (trimmed === undefined) return;
      await this.#open(trimmed);
      if (this.#stopped) return;
      this.#signals.resolveReady();
      await this.#follow();
    } catch (e) {
      this.#signals.rejectReady(e);
      if (!this.#stopped) throw e;
    } finally {
      this.#signals.rejectReady(
        new Error('the change follower stopped before its replica was ready'),
      );
      clearInterval(this.#heartbeat);
      await this.#disconnect();
      this.#db?.close();
      this.#db = undefined;
    }
  }

  /** Puts a replica at or past the trim point in place, then opens it. */
  async #open(trimmed: string): Promise<void> {
    const file = this.#opts.replicaFile;
    mkdirSync(dirname(file), {recursive: true});
    const have = usableReplicaVersion(file, this.#opts.appId);
    // Claimed before the download: the log is not trimmed past it while the snapshot comes.
    this.#claimed = have !== undefined && have > trimmed ? have : trimmed;
    this.#startHeartbeat();
    if (have !== undefined && have >= trimmed) {
      this.#lc.info('resuming from the replica on disk', {version: have, replica: file});
    } else {
      this.#lc.info(
        have === undefined
          ? 'no usable replica; fetching a snapshot'
          : 'replica is behind the trimmed change log; fetching a snapshot',
        {replica: file},
      );
      const tmp = await this.#download(trimmed);
      if (tmp === undefined) return;
      placeSnapshot(tmp, file);
    }
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    this.#db = db;
    this.#applier = new RowOpApplier(db);
    this.#version = (
      db.prepare(`SELECT version FROM _zync_replication_state`).get() as {
        version: string;
      }
    ).version;
    this.#heartbeatNow();
  }

  /** Downloads a snapshot at `atLeast` or later to `<replica>.snapshot`; retries until then. */
  async #download(atLeast: string): Promise<string | undefined> {
    const tmp = `${this.#opts.replicaFile}.snapshot`;
    return this.#retrying('download a replica snapshot', async () => {
      removeDbFiles(tmp);
      const started = Date.now();
      await this.#opts.snapshots.download(tmp, atLeast === '' ? undefined : atLeast);
      const version = checkSnapshot(tmp, this.#opts.appId);
      if (version < atLeast) {
        // The manager stores a change before its replica commits it: it is about to.
        throw new Error(`snapshot is at ${version}, before ${atLeast}`);
      }
      this.#lc.info('snapshot downloaded', {version, ms: Date.now() - started});
      return tmp;
    });
  }

  /** Restores a snapshot at `atLeast` or later into the live replica. */
  async #restore(atLeast: string, why: string): Promise<void> {
    this.#lc.info('restoring the replica from a snapshot', {why, from: this.#version, atLeast});
    const tmp = await this.#download(atLeast);
    if (tmp === undefined) return;
    const db = this.#db!;
    await restoreSnapshotInto(tmp, this.#opts.replicaFile);
    this.#applier!.reload();
    const {version} = db.prepare(`SELECT version FROM _zync_replication_state`).get() as {
      version: string;
    };
    this.#lc.info('replica restored from a snapshot', {version});
    this.#advanced(version);
  }

  async #follow(): Promise<void> {
    let delay = 200;
    while (!this.#stopped) {
      try {
        if (!this.#client) await this.#connect();
        await this.#catchUp();
        delay = 200;
        await this.#waitForWork(this.#opts.pollIntervalMs ?? 2_000);
      } catch (e) {
        if (this.#stopped) break;
        if (e instanceof SnapshotError && e.kind === 'config') throw e;
        this.#lc.warn('following the change log failed; retrying', {
          changeDb: redactUrl(this.#opts.changeDbUrl),
          retryInMs: delay,
          code: (e as {code?: string}).code,
          error: safeErrorMessage(e),
        });
        await this.#disconnect();
        await this.#signals.sleep(delay);
        delay = Math.min(delay * 2, this.#opts.maxRetryDelayMs ?? 5_000);
      }
    }
  }

  /** Applies every change after the replica's version. */
  async #catchUp(): Promise<void> {
    const s = this.#names.schema;
    const limit = this.#opts.batchSize ?? 200;
    for (;;) {
      this.#dirty = false;
      // Rows first, then the trim point: a trim between the two shows in the trim point.
      const {rows} = await this.#query<ChangeRow>(
        `SELECT version, ops, reset FROM ${s}.changes WHERE version > $1 ORDER BY version LIMIT $2`,
        [this.#version, limit],
      );
      const trimmed = await this.#trimmedThrough();
      if (this.#stopped) return;
      if (this.#version < trimmed) {
        await this.#restore(trimmed, 'behind the trimmed change log');
        continue;
      }
      let restored = false;
      for (const row of rows) {
        if (this.#stopped) return;
        if (row.reset) {
          await this.#restore(row.version, 'the replica changed shape upstream');
          restored = true;
          break;
        }
        try {
          this.#applier!.apply(row.version, decodeRowOps(row.ops));
        } catch (e) {
          this.#lc.error('a change does not apply to this replica; taking a snapshot', {
            version: row.version,
            error: safeErrorMessage(e),
          });
          await this.#restore(row.version, 'a change did not apply');
          restored = true;
          break;
        }
        this.#advanced(row.version);
      }
      if (!restored && rows.length < limit) return;
    }
  }

  async #trimmedThrough(): Promise<string> {
    const {rows} = await this.#query<{trimmed_through: string}>(
      `SELECT trimmed_through FROM ${this.#names.schema}.meta WHERE id = 0`,
    );
    const row = rows[0];
    if (!row) throw new Error('the change log is not initialized yet (no meta row)');
    return row.trimmed_through;
  }

  #advanced(version: string): void {
    this.#version = version;
    this.#signals.notify(version);
    const n = this.#pruner.advanced(this.#db!, version);
    if (n > 0) this.#lc.debug('pruned change log', {entries: n});
  }

  async #connect(): Promise<void> {
    await this.#disconnect();
    // Time limits: a connection dropped silently would otherwise stall the follower.
    const c = new pg.Client({
      connectionString: this.#opts.changeDbUrl,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      query_timeout: 60_000,
    });
    const lost = () => {
      if (this.#client === c) this.#client = undefined;
      this.#signals.wake();
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', () => {
      this.#dirty = true;
      this.#signals.wake();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${this.#names.channel}`);
    } catch (e) {
      await c.end().catch(() => {});
      throw e;
    }
    this.#client = c;
  }

  /** A query on the current connection, after the ones before it. */
  #query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const run = this.#queue.then(() => {
      const c = this.#client;
      if (!c) throw new Error('not connected to the change database');
      return c.query<R>(sql, params);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #disconnect(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => {});
  }

  #startHeartbeat(): void {
    this.#heartbeatNow();
    this.#heartbeat = setInterval(
      () => this.#heartbeatNow(),
      this.#opts.heartbeatIntervalMs ?? 1_000,
    );
  }

  /** Reports this node's version (best effort: a lost connection skips it). */
  #heartbeatNow(): void {
    if (!this.#client || this.#stopped) return;
    this.#query(
      `INSERT INTO ${this.#names.schema}.nodes (node_id, version, seen_at) VALUES ($1, $2, now())
       ON CONFLICT (node_id) DO UPDATE SET version = EXCLUDED.version, seen_at = now()`,
      [this.#opts.nodeId, this.#version || this.#claimed],
    ).catch(() => {});
  }

  #waitForWork(ms: number): Promise<void> {
    if (this.#dirty || this.#stopped || !this.#client) return Promise.resolve();
    return this.#signals.sleep(ms);
  }

  /** Runs `fn` until it succeeds, with backoff; undefined if the follower stopped first. */
  #retrying<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.#signals.retrying(
      {
        what,
        logFields: {changeDb: redactUrl(this.#opts.changeDbUrl)},
        fatal: e => !this.#stopped && e instanceof SnapshotError && e.kind === 'config',
        permanent: (message, cause) => new Error(message, {cause}),
      },
      fn,
    );
  }
}
