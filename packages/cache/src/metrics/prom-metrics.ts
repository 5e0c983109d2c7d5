// zero-cache's metrics kept in a prom-client registry of its own (never prom-client's global
// one). Each metric declares how it merges with the same metric of another process
// (`aggregator`), so that a front process can serve one /metrics for several processes:
// `getMetricsAsJSON()` in each, `mergeMetrics()` in the front (merge.ts).
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client';
import {FastHistogram} from './fast-histogram.ts';
import type {ApiEndpoint, ApiOutcome, AuthFailureKind, Metrics, SyncFigures} from './metrics.ts';

/** One process's metrics as `registry.getMetricsAsJSON()` gives them. */
export type MetricsJSON = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export const API_ENDPOINTS: readonly ApiEndpoint[] = ['push', 'get_queries'];
export const API_OUTCOMES: readonly ApiOutcome[] = [
  'ok',
  'app_error',
  'auth_refused',
  'failed',
  'rejected',
  'error',
];
export const AUTH_FAILURE_KINDS: readonly AuthFailureKind[] = [
  'expired',
  'bad_signature',
  'malformed',
  'claims',
  'subject',
  'too_large',
  'algorithm',
  'no_matching_key',
  'key_unavailable',
  'unverifiable',
  'group_owned_by_other_user',
  'identity_changed',
  'expired_while_connected',
  'api_server_refused',
  'origin_not_allowed',
  'other',
];

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BYTES = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
const LAG_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type PromMetricsOptions = {
  /** Process metrics (memory, CPU, event loop) of prom-client; default true. */
  readonly processMetrics?: boolean;
};

/** The figures the status page and `statz` show beside the gauges. */
export type ReplicationFigures = {
  readonly lagBytes: number;
  /** The last applied transaction's lag from its upstream commit, or null before any. */
  readonly lastCommitLagMs: number | null;
};

export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  #figures: SyncFigures | undefined;
  #lagBytes = 0;
  #lastCommitLagMs: number | null = null;
  #intervalLagMs: number | null = null;
  readonly #hydration: FastHistogram;
  readonly #advance: FastHistogram;
  readonly #poke: FastHistogram;
  readonly #commitLag: FastHistogram;
  readonly #lastLag: Gauge;
  readonly #commits: Counter;
  readonly #lag: Gauge;
  readonly #flush: FastHistogram;
  #backlog = 0;
  readonly #apiCalls: Counter<'endpoint' | 'outcome'>;
  readonly #apiSeconds: Histogram<'endpoint' | 'outcome'>;
  readonly #authFailures: Counter<'kind'>;

  constructor(options: PromMetricsOptions = {}) {
    const registers = [this.registry];
    this.#liveGauge('zero_cache_connections', 'Open WebSocket connections.', f => f.connections());
    this.#liveGauge('zero_cache_client_groups', 'Client groups held in memory.', f =>
      f.clientGroups(),
    );
    this.#liveGauge('zero_cache_clients', 'Clients connected to a client group.', f => f.clients());
    this.#liveGauge('zero_cache_queries', 'Live queries of the client groups in memory.', f =>
      f.queries(),
    );
    this.#hydration = new FastHistogram({
      name: 'zero_cache_hydration_seconds',
      help: 'Time to hydrate one query (wall time, yields to other work included).',
      buckets: SECONDS,
      registers,
    });
    this.#advance = new FastHistogram({
      name: 'zero_cache_advance_seconds',
      help: 'Time for one client group to advance to a new replica version.',
      buckets: SECONDS,
      registers,
    });
    this.#poke = new FastHistogram({
      name: 'zero_cache_poke_bytes',
      help: 'Size of each poke frame encoded for a client group.',
      buckets: BYTES,
      registers,
    });
    this.#commitLag = new FastHistogram({
      name: 'zero_cache_replication_lag_seconds',
      help: 'Time from a transaction’s upstream commit to its application to the replica.',
      buckets: LAG_SECONDS,
      registers,
    });
    this.#lastLag = new Gauge({
      name: 'zero_cache_replication_last_lag_seconds',
      help: 'Commit-to-replica time of the last transaction applied.',
      aggregator: 'max',
      registers,
    });
    this.#lag = new Gauge({
      name: 'zero_cache_replication_lag_bytes',
      help: 'How far the replica is behind the upstream WAL position, in bytes of WAL (replica versions are commit LSNs).',
      aggregator: 'max',
      registers,
    });
    this.#commits = new Counter({
      name: 'zero_cache_replica_commits_total',
      help: 'Transactions applied to the replica.',
      registers,
    });
    this.#flush = new FastHistogram({
      name: 'zero_cache_cvr_flush_seconds',
      help: 'Time for one client group’s CVR write to reach Postgres.',
      buckets: SECONDS,
      registers,
    });
    // Counted in a plain number (it changes twice per CVR write), read when collected.
    const backlog = () => this.#backlog;
    new Gauge({
      name: 'zero_cache_cvr_flush_backlog',
      help: 'CVR writes queued or in flight.',
      aggregator: 'sum',
      registers,
      collect() {
        this.set(backlog());
      },
    });
    this.#apiCalls = new Counter({
      name: 'zero_cache_api_requests_total',
      help: 'Calls to the API server (after retries), by endpoint and outcome.',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.#apiSeconds = new Histogram({
      name: 'zero_cache_api_request_seconds',
      help: 'Time of calls to the API server (retries included), by endpoint and outcome.',
      labelNames: ['endpoint', 'outcome'],
      buckets: SECONDS,
      registers,
    });
    this.#authFailures = new Counter({
      name: 'zero_cache_auth_failures_total',
      help: 'Refused credentials, by kind.',
      labelNames: ['kind'],
      registers,
    });
    // Every label value is known: each series exists from the start, at 0.
    for (const endpoint of API_ENDPOINTS) {
      for (const outcome of API_OUTCOMES) this.#apiCalls.labels(endpoint, outcome).inc(0);
    }
    for (const kind of AUTH_FAILURE_KINDS) this.#authFailures.labels(kind).inc(0);
    if (options.processMetrics ?? true) collectDefaultMetrics({register: this.registry});
  }

  #liveGauge(name: string, help: string, read: (f: SyncFigures) => number): void {
    const figures = () => this.#figures;
    new Gauge({
      name,
      help,
      aggregator: 'sum',
      registers: [this.registry],
      collect() {
        const f = figures();
        this.set(f ? read(f) : 0);
      },
    });
  }

  watch(figures: SyncFigures): void {
    this.#figures = figures;
  }

  hydration(ms: number): void {
    this.#hydration.observe(ms / 1000);
  }

  advance(ms: number): void {
    this.#advance.observe(ms / 1000);
  }

  poke(frame: string): void {
    this.#poke.observe(Buffer.byteLength(frame));
  }

  replicaCommit(lagMs: number | undefined): void {
    this.#commits.inc();
    if (lagMs === undefined) return;
    const ms = Math.max(0, lagMs);
    this.#lastCommitLagMs = ms;
    this.#intervalLagMs = Math.max(this.#intervalLagMs ?? 0, ms);
    this.#commitLag.observe(ms / 1000);
    this.#lastLag.set(ms / 1000);
  }

  replicationLagBytes(bytes: number): void {
    this.#lagBytes = Math.max(0, bytes);
    this.#lag.set(this.#lagBytes);
  }

  cvrFlushBacklog(delta: 1 | -1): void {
    this.#backlog += delta;
  }

  cvrFlush(ms: number): void {
    this.#flush.observe(ms / 1000);
  }

  apiCall(endpoint: ApiEndpoint, outcome: ApiOutcome, ms: number): void {
    this.#apiCalls.labels(endpoint, outcome).inc();
    this.#apiSeconds.labels(endpoint, outcome).observe(ms / 1000);
  }

  authFailure(kind: AuthFailureKind): void {
    this.#authFailures.labels(kind).inc();
  }

  replication(): ReplicationFigures {
    return {lagBytes: this.#lagBytes, lastCommitLagMs: this.#lastCommitLagMs};
  }

  /** The largest commit lag since the last call (null: no commit since). */
  takeIntervalLagMs(): number | null {
    const ms = this.#intervalLagMs;
    this.#intervalLagMs = null;
    return ms;
  }

  /** This process's metrics in prom-client's JSON form, for merging (merge.ts). */
  json(): Promise<MetricsJSON> {
    return this.registry.getMetricsAsJSON();
  }
}
