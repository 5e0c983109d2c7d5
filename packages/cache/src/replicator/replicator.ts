// The replicator service: keeps a SQLite replica in step with the upstream Postgres
// through a logical replication slot. See docs/replication.md.
import Database from 'better-sqlite3';
import type {ChildProcess} from 'node:child_process';
import {mkdirSync, renameSync} from 'node:fs';
import {dirname} from 'node:path';
import type pg from 'pg';
import {LogicalReplicationService} from 'pg-logical-replication';
import type {Logger} from '@zync/shared';
import {redactUrl, safeErrorMessage} from '../pg/redact-url.ts';
import {
  createInternalTables,
  readReplicationState,
  writeInitialState,
} from '../replica/replica-schema.ts';
import {formatLsn, lsnToVersion, parseLsn, versionToLsn} from '../replica/version.ts';
import {upstreamBackfill} from './backfill.ts';
import {ChangeApplier} from './change-applier.ts';
import {runInitialCopy} from './copy-plan.ts';
import {removeDbFiles} from './copy-process.ts';
import {PgOutputDecoder} from './pgoutput-decoder.ts';
import type {PgOutputMessage} from './pgoutput-decoder.ts';
import {ReplicatorError} from './replicator-error.ts';
import {
  checkWalLevel,
  dropSlot,
  ensurePublication,
  loadTypeNames,
  newClient,
  SESSION_OPTIONS,
  slotExists,
  upstreamNames,
} from './upstream.ts';
import type {UpstreamNames} from './upstream.ts';
import {noMetrics, type Metrics} from '../metrics/metrics.ts';
import {ChangelogPruner} from '../change-db/changelog-pruner.ts';
import type {ChangeLogSink} from '../change-db/row-ops.ts';
import {FeedSignals, type VersionListener} from '../replica/replica-feed.ts';

export interface ReplicatorOptions {
  readonly upstreamUrl: string;
  readonly replicaFile: string;
  readonly appId: string;
  readonly lc: Logger;
  /** How long change-log entries are kept (default 5 minutes). */
  readonly changeLogRetentionMs?: number;
  /** How often pruning is considered, after a commit (default 30 s). */
  readonly changeLogPruneIntervalMs?: number;
  /** Upper bound of the reconnect backoff (default 5 s). */
  readonly maxRetryDelayMs?: number;
  /**
   * Up to this many estimated upstream rows the initial copy runs in this process, above
   * it in a child process (default `IN_PROCESS_COPY_MAX_ROWS`).
   */
  readonly inProcessCopyMaxRows?: number;
  /** Commits applied, their lag from the upstream commit, and the WAL distance behind. */
  readonly metrics?: Metrics | undefined;
  /** The clock the change log's age is measured by (default `Date.now`). */
  readonly now?: () => number;
  /**
   * The replication-manager's change log in Postgres (a `ChangeLogWriter`): each
   * transaction's row operations are stored there before the replica commits it. Unset
   * (ZERO_ROLE=all): nothing is written anywhere but the replica.
   */
  readonly changeLog?: ChangeLogSink | undefined;
}

export type {VersionListener} from '../replica/replica-feed.ts';

export class Replicator {
  readonly ready: Promise<void>;
  readonly #opts: ReplicatorOptions;
  readonly #lc: Logger;
  readonly #names: UpstreamNames;
  readonly #signals: FeedSignals;
  readonly #pruner: ChangelogPruner;
  #stopped = false;
  #running: Promise<void> | undefined;
  #db: Database.Database | undefined;
  #catalog: pg.Client | undefined;
  #copyClients: pg.Client[] = [];
  #copyChild: ChildProcess | undefined;
  #service: LogicalReplicationService | undefined;
  #version = '';

  constructor(opts: ReplicatorOptions) {
    this.#opts = opts;
    this.#lc = opts.lc.with({component: 'replicator'});
    this.#names = upstreamNames(opts.appId);
    this.#pruner = new ChangelogPruner(opts);
    this.#signals = new FeedSignals(this.#lc, () => this.#stopped, opts.maxRetryDelayMs);
    this.ready = this.#signals.ready;
  }

  /** The replica's current version ('' before the initial copy is done). */
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
    await this.#service?.stop().catch(() => {});
    this.#copyChild?.kill('SIGKILL');
    for (const c of this.#copyClients) await c.end().catch(() => {});
    await this.#running?.catch(() => {});
  }

  async #run(): Promise<void> {
    try {
      await this.#retrying('connect to upstream', async () => {
        const c = newClient(this.#opts.upstreamUrl);
        c.on('error', () => {});
        await c.connect();
        this.#catalog = c;
        await checkWalLevel(c);
        await ensurePublication(c, this.#names);
      });
      if (this.#stopped) return;
      await this.#openReplica();
      this.#signals.resolveReady();
      await this.#streamLoop();
    } catch (e) {
      this.#signals.rejectReady(e);
      if (!this.#stopped) throw e;
    } finally {
      await this.#catalog?.end().catch(() => {});
      this.#db?.close();
      this.#db = undefined;
    }
  }

  async #openReplica(): Promise<void> {
    const file = this.#opts.replicaFile;
    mkdirSync(dirname(file), {recursive: true});
    let db = openDb(file);
    const state = readReplicationState(db);
    const catalog = this.#catalog!;
    if (state && state.slot === this.#names.slot && (await slotExists(catalog, state.slot))) {
      this.#lc.info('resuming replication', {version: state.version, replica: file});
    } else {
      if (state) {
        this.#lc.warn('replica does not match the upstream slot; copying again', {replica: file});
      }
      db.close();
      removeDbFiles(file);
      const copied = await this.#retrying('initial copy', () => this.#initialCopy());
      if (!copied) throw new Error('replicator stopped during the initial copy');
      db = copied;
    }
    db.pragma('synchronous = NORMAL');
    this.#db = db;
    this.#version = readReplicationState(db)!.version;
    this.#opts.changeLog?.committed(this.#version);
  }

  /**
   * Copies into `<replica>.copy`, renames it onto the replica path when complete and opens
   * it; the state row is written last. A crash at any point leaves either no replica (only
   * the temporary file, removed by the next attempt) or one without a state row, which the
   * next start deletes.
   */
  async #initialCopy(): Promise<Database.Database> {
    const url = this.#opts.upstreamUrl;
    const file = this.#opts.replicaFile;
    const tmp = `${file}.copy`;
    let db: Database.Database | undefined;
    const {slot, publication} = this.#names;
    const repl = newClient(url, true);
    this.#copyClients = [repl];
    repl.on('error', () => {});
    try {
      await dropSlot(this.#catalog!, slot);
      await repl.connect();
      const {rows} = await repl.query<{consistent_point: string; snapshot_name: string}>(
        `CREATE_REPLICATION_SLOT "${slot}" LOGICAL pgoutput EXPORT_SNAPSHOT`,
      );
      const cp = parseLsn(rows[0]!.consistent_point);
      const started = Date.now();
      const summary = await runInitialCopy(
        {
          upstreamUrl: url,
          replicaFile: tmp,
          publication,
          snapshot: rows[0]!.snapshot_name,
        },
        this.#lc,
        {
          catalog: this.#catalog!,
          maxInProcessRows: this.#opts.inProcessCopyMaxRows,
          onChild: child => (this.#copyChild = child),
          onClient: client => this.#copyClients.push(client),
        },
      );
      renameSync(tmp, file);
      db = openDb(file);
      // Transactions committing at the consistent point are streamed, not copied.
      const lsn = cp - 1n;
      const version = lsnToVersion(lsn);
      // Followers hold rows of an earlier copy: they must take a snapshot of this one. Stored
      // before the state row, so that a crash in between copies (and announces) again.
      await this.#opts.changeLog?.append(version, [], true);
      writeInitialState(db, {
        version,
        lsn: formatLsn(lsn),
        changelogFloor: version,
        appId: this.#opts.appId,
        publication,
        slot,
        initialVersion: version,
      });
      await this.#catalog!.query(
        `INSERT INTO "${this.#names.schema}".replicas (slot, initial_version) VALUES ($1, $2)
         ON CONFLICT (slot) DO UPDATE SET initial_version = $2, created_at = now()`,
        [slot, version],
      );
      this.#lc.info('initial copy done', {
        tables: summary.tables,
        rows: summary.rows,
        ms: Date.now() - started,
        version,
        rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
        heapMb: Math.round(process.memoryUsage().heapTotal / 2 ** 20),
      });
      return db;
    } catch (e) {
      db?.close();
      removeDbFiles(tmp);
      removeDbFiles(file);
      throw e;
    } finally {
      this.#copyClients = [];
      await repl.end().catch(() => {});
    }
  }

  async #streamLoop(): Promise<void> {
    const db = this.#db!;
    const typeNames = await loadTypeNames(this.#catalog!);
    let delay = 100;
    while (!this.#stopped) {
      const state = readReplicationState(db)!;
      const applier = new ChangeApplier(
        db,
        this.#lc,
        typeNames,
        upstreamBackfill(this.#catalog!, db, this.#names.publication, this.#lc),
        versionToLsn(state.version),
        state.version,
        this.#names.schema,
        this.#opts.changeLog,
      );
      const startedAt = Date.now();
      try {
        await this.#stream(applier, typeNames);
      } catch (e) {
        if (e instanceof ReplicatorError && e.kind !== 'apply-failed') throw e;
        if (!this.#stopped) {
          this.#lc.warn('replication stream ended; reconnecting', {
            upstream: redactUrl(this.#opts.upstreamUrl),
            error: safeErrorMessage(e),
            code: (e as {code?: string}).code,
          });
        }
      } finally {
        applier.abort();
      }
      if (this.#stopped) break;
      if (Date.now() - startedAt > 10_000) delay = 100;
      await this.#signals.sleep(delay);
      delay = Math.min(delay * 2, this.#opts.maxRetryDelayMs ?? 5_000);
      if (
        !this.#catalog ||
        (await this.#catalog.query('SELECT 1').then(
          () => false,
          () => true,
        ))
      ) {
        await this.#reconnectCatalog();
      }
    }
  }

  async #reconnectCatalog(): Promise<void> {
    await this.#catalog?.end().catch(() => {});
    this.#catalog = undefined;
    await this.#retrying('reconnect to upstream', async () => {
      const c = newClient(this.#opts.upstreamUrl);
      c.on('error', () => {});
      await c.connect();
      this.#catalog = c;
    });
  }

  async #stream(applier: ChangeApplier, typeNames: Map<number, string>): Promise<void> {
    if (!(await slotExists(this.#catalog!, this.#names.slot))) {
      throw new ReplicatorError(
        'slot-lost',
        `replication slot ${this.#names.slot} no longer exists upstream; restart zero-cache to copy the replica again`,
      );
    }
    let decoded = 0;
    let applied = 0;
    let failed: unknown;
    let acked = applier.lsn;
    /** The furthest position the slot may move up to (all before it is in the replica). */
    let idleTarget = acked;
    const metrics = this.#opts.metrics ?? noMetrics;
    // The furthest upstream WAL position seen (keepalives): the replica's distance behind it.
    let walEnd = 0n;
    const decoder = new PgOutputDecoder({
      publication: this.#names.publication,
      onDecoded: () => decoded++,
    });
    const service = new LogicalReplicationService(
      {connectionString: this.#opts.upstreamUrl, options: SESSION_OPTIONS},
      {acknowledge: {auto: false, timeoutSeconds: 0}, flowControl: {enabled: true}},
    );
    this.#service = service;
    const ack = (lsn: bigint) => {
      acked = lsn;
      void service.acknowledge(formatLsn(lsn)).catch(() => {});
    };
    const onMessage = async (msg: PgOutputMessage) => {
      if (failed) return;
      try {
        if (msg.tag === 'type') typeNames.set(msg.oid, msg.name);
        const res = applier.handle(msg);
        const version = res instanceof Promise ? await res : res;
        if (version !== null) {
          metrics.replicaCommit(msg.tag === 'commit' ? Date.now() - msg.commitTimeMs : undefined);
          if (walEnd > 0n) metrics.replicationLagBytes(Number(walEnd - applier.lsn));
          this.#advanced(version);
        }
      } catch (e) {
        failed = e;
        applier.abort();
        this.#lc.error('applying an upstream transaction failed; reconnecting', {
          error: safeErrorMessage(e),
        });
        void service.stop();
      } finally {
        applied++;
      }
    };
    service.on('data', (_lsn: string, msg: PgOutputMessage) => onMessage(msg));
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      const end = parseLsn(lsn);
      if (end > walEnd) walEnd = end;
      // Idle: everything received so far is in the replica, so the slot may move up to here.
      const idle = decoded === applied && !applier.inTransaction && !failed;
      // WAL that is not ours (other tables, other databases) is no lag.
      metrics.replicationLagBytes(idle ? 0 : Number(walEnd - applier.lsn));
      const target = idle && end > 0n ? end - 1n : applier.lsn;
      if (target > idleTarget) idleTarget = target;
      // Upstream sends a keepalive for each transaction that is not ours (every CVR write,
      // when the CVR lives in the upstream database): answering each would cost a message
      // per client connect. Unasked, the slot moves up with the timer below.
      if (shouldRespond) ack(idleTarget > acked ? idleTarget : acked);
    });
    service.on('error', () => {});
    const timer = setInterval(() => {
      const target = applier.lsn > idleTarget ? applier.lsn : idleTarget;
      if (target > acked) ack(target);
    }, 1_000);
    try {
      // A stop() that came before the service existed could not stop it: see it here.
      if (this.#stopped) return;
      this.#lc.info('streaming changes', {from: formatLsn(applier.lsn)});
      await service.subscribe(decoder, this.#names.slot, formatLsn(applier.lsn));
      if (failed) throw new ReplicatorError('apply-failed', 'apply failed', {cause: failed});
      if (!this.#stopped) throw new Error('replication stream closed by upstream');
    } finally {
      clearInterval(timer);
      this.#service = undefined;
      await service.destroy().catch(() => {});
    }
  }

  #advanced(version: string): void {
    this.#version = version;
    this.#signals.notify(version);
    // Drops change-log entries older than the retention period; see docs/replica.md.
    const n = this.#pruner.advanced(this.#db!, version);
    if (n > 0) this.#lc.debug('pruned change log', {entries: n});
  }

  /** Runs `fn` until it succeeds; undefined if the replicator was stopped first. */
  #retrying<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const reconnects = what !== 'connect to upstream' && what !== 'reconnect to upstream';
    return this.#signals.retrying(
      {
        what,
        logFields: {upstream: redactUrl(this.#opts.upstreamUrl)},
        fatal: e => e instanceof ReplicatorError || this.#stopped,
        permanent: (message, cause) => new ReplicatorError('permission', message, {cause}),
        beforeSleep: async () => {
          await this.#catalog?.end().catch(() => {});
          this.#catalog = undefined;
        },
        afterSleep: reconnects ? () => this.#reconnectCatalog() : undefined,
      },
      fn,
    );
  }
}

function openDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  createInternalTables(db);
  return db;
}
