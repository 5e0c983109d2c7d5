import {DEFAULT_MAX_FRAME_BYTES} from '@zync/protocol';
import {DEFAULT_QUERY_BUDGET, type QueryBudget} from '../view-syncer/query-budget.ts';

/** Tunables of the view syncer. Every field has a default (see DEFAULT_SYNC_LIMITS). */
export type SyncLimits = QueryBudget & {
  /** Largest frame accepted from a client (characters of JSON text). */
  readonly maxFrameBytes: number;
  /** How long a new socket may take to send its `connect` frame. */
  readonly connectTimeoutMs: number;
  /** A client whose unsent backlog exceeds this when a frame is due is closed as too slow. */
  readonly maxBufferedBytes: number;
  /** How long a client group without connected clients stays in memory. */
  readonly groupIdleMs: number;
  /** TTL of a query that no client wants, when the client gave none. */
  readonly defaultTtlMs: number;
  /** Upper bound for any TTL a client asks for. */
  readonly maxTtlMs: number;
  /** Tombstones (deleted rows and queries) kept per group before the oldest are purged. */
  readonly maxTombstones: number;
  /** How often synced queries (name + args) are prepared again (ZERO_GET_QUERIES_REVALIDATE_SECONDS). */
  readonly revalidateQueriesMs: number;
  /**
   * How long a CVR write of more than 2,000 rows (a large hydration) waits before it
   * starts, so that it does not compete for the CPU with clients applying the poke it
   * follows. A crash in that window only means a reset for the group's clients.
   */
  readonly largeCVRWriteDelayMs: number;
  /**
   * Rows per `pokePart` frame when a client that starts from nothing is sent its rows while
   * they are hydrated (see poke-stream.ts). Catch-ups with fewer rows go in the poke alone.
   */
  readonly pokePartRows: number;
  /** A query hydration at least this long is logged (ZERO_LOG_SLOW_HYDRATE_THRESHOLD). */
  readonly slowHydrateMs: number;
};

export const DEFAULT_SYNC_LIMITS: SyncLimits = Object.freeze({
  ...DEFAULT_QUERY_BUDGET,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  connectTimeoutMs: 10_000,
  maxBufferedBytes: 32 * 1024 * 1024,
  groupIdleMs: 30_000,
  defaultTtlMs: 5 * 60_000,
  maxTtlMs: 10 * 60_000,
  maxTombstones: 20_000,
  revalidateQueriesMs: 300_000,
  largeCVRWriteDelayMs: 1_000,
  pokePartRows: 5_000,
  slowHydrateMs: 100,
});
