// What zero-cache's subsystems report about their work. Every instrumentation call goes
// through this one interface, so that where metrics are kept (one registry per process,
// merged by whoever serves /metrics) can change without touching the subsystems.
// Labels are small fixed sets: never a token, cookie, row value, user or group ID.
// See docs/operations.md for the metric names.

/** The API server endpoints zero-cache calls. */
export type ApiEndpoint = 'push' | 'get_queries';

/**
 * How one call to the API server ended (after its retries):
 * - `ok`: answered, every mutation or query has a result;
 * - `app_error`: answered, but some queries came back as errors (get-queries only);
 * - `auth_refused`: 401/403, the client must refresh its token;
 * - `failed`: unreachable, timed out or 5xx until the retries gave up, or answered in a
 *   shape zero-cache cannot use;
 * - `rejected`: answered with a refusal of the whole call (out of order, another user);
 * - `error`: anything else (a bug).
 */
export type ApiOutcome = 'ok' | 'app_error' | 'auth_refused' | 'failed' | 'rejected' | 'error';

/** Why a connection's credentials were refused (the `kind` label of auth failures). */
export type AuthFailureKind =
  | 'expired'
  | 'bad_signature'
  | 'malformed'
  | 'claims'
  | 'subject'
  | 'too_large'
  | 'algorithm'
  | 'no_matching_key'
  | 'key_unavailable'
  | 'unverifiable'
  | 'group_owned_by_other_user'
  | 'identity_changed'
  | 'expired_while_connected'
  | 'api_server_refused'
  | 'origin_not_allowed'
  | 'other';

/** Live figures read when metrics are collected (no cost on the paths that change them). */
export type SyncFigures = {
  readonly connections: () => number;
  readonly clientGroups: () => number;
  readonly clients: () => number;
  readonly queries: () => number;
};

export interface Metrics {
  /** One query was hydrated (wall time, yields to other work included). */
  hydration(ms: number): void;
  /** One client group advanced to a new replica version. */
  advance(ms: number): void;
  /** One poke frame was encoded for a group's clients (its size in bytes is recorded). */
  poke(frame: string): void;
  /**
   * A transaction was applied to the replica; `lagMs`: from its upstream commit time to now
   * (undefined when unknown).
   */
  replicaCommit(lagMs: number | undefined): void;
  /** How far the replica's version is behind upstream's WAL position, in bytes of WAL. */
  replicationLagBytes(bytes: number): void;
  /** A client group's CVR write was queued (+1) or has settled (-1). */
  cvrFlushBacklog(delta: 1 | -1): void;
  /** One CVR write reached Postgres (its time, batching wait included). */
  cvrFlush(ms: number): void;
  apiCall(endpoint: ApiEndpoint, outcome: ApiOutcome, ms: number): void;
  authFailure(kind: AuthFailureKind): void;
  /** Where the connection, group, client and query gauges are read from. */
  watch(figures: SyncFigures): void;
}

/** The outcome of an API server call that threw (a ProtocolError, by its kind). */
export function apiOutcomeOf(e: unknown): ApiOutcome {
  switch ((e as {kind?: unknown} | undefined)?.kind) {
    case 'AuthInvalidated':
      return 'auth_refused';
    case 'PushFailed':
      return 'failed';
    case 'InvalidMessage':
    case 'Unauthorized':
      return 'rejected';
    default:
      return 'error';
  }
}

const noop = () => {};

/** Metrics that are not kept (no admin password and no OTLP export). */
export const noMetrics: Metrics = Object.freeze({
  hydration: noop,
  advance: noop,
  poke: noop,
  replicaCommit: noop,
  replicationLagBytes: noop,
  cvrFlushBacklog: noop,
  cvrFlush: noop,
  apiCall: noop,
  authFailure: noop,
  watch: noop,
});
