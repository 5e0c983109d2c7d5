// The messages on the IPC channel between the dispatcher (zero-cache's main process) and its
// children: the replicator and the sync workers. JSON only; a socket travels as the handle
// of an `upgrade` message.
import type {LogContext, LogLevel} from '@zync/shared';
import type {ZeroConfig} from '../config/parse-config.ts';
import type {MetricsJSON} from '../metrics/prom-metrics.ts';
import type {GroupDetail, GroupSummary} from '../view-syncer/group-inspect.ts';
import type {DropResult} from '../view-syncer/group-registry.ts';

export type ChildRole = 'replicator' | 'sync-worker';

/** What a child reports about itself when asked (see Dispatcher.stats). */
export type ProcessStats = {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** CPU time (user + system) since the process started. */
  readonly cpuMicros: number;
  /** Sync workers: open sockets and client groups in memory. */
  readonly connections?: number | undefined;
  readonly clientGroups?: number | undefined;
  /** Replicator: the replica's version. */
  readonly version?: string | undefined;
};

/** What the dispatcher asks a child for its operations endpoints (docs/operations.md). */
export type AdminRequest =
  /** The child's metrics registry, as `getMetricsAsJSON()`. */
  | {readonly kind: 'metrics'}
  /** The child's part of `/admin/statz`; `takeIntervalLag`: for the history's sample. */
  | {readonly kind: 'statz'; readonly takeIntervalLag: boolean}
  | {readonly kind: 'group'; readonly clientGroupID: string}
  | {readonly kind: 'drop'; readonly clientGroupID: string};

/** One child's part of `/admin/statz` (admin/child-admin.ts). */
export type ChildStatz = {
  readonly connections: number;
  readonly clientGroups: number;
  readonly clients: number;
  readonly queries: number;
  readonly memory: {
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
    readonly heapTotalBytes: number;
    readonly externalBytes: number;
  };
  /** The groups in memory, most queries first, at most STATZ_MAX_GROUPS. */
  readonly groups: readonly GroupSummary[];
  /** The replicator: the replica's version and lag. */
  readonly replica?:
    | {
        readonly version: string;
        readonly lagBytes: number;
        readonly lastCommitLagMs: number | null;
        /** The largest commit lag since the last `takeIntervalLag` request. */
        readonly intervalLagMs: number | null;
      }
    | undefined;
};

/** The answer to each AdminRequest kind. */
export type AdminReply = {
  metrics: MetricsJSON;
  statz: ChildStatz;
  group: GroupDetail | null;
  drop: DropResult;
};

export type ToChild =
  | {
      readonly type: 'start';
      readonly role: ChildRole;
      readonly config: ZeroConfig;
      /** Sync workers: this worker's index and the number of workers. */
      readonly index: number;
      readonly workers: number;
    }
  | {
      /** A WebSocket upgrade; the socket is the message's handle. */
      readonly type: 'upgrade';
      readonly method: string;
      readonly url: string;
      readonly headers: Record<string, string | string[] | undefined>;
      /** Bytes read past the request head, base64. */
      readonly head: string;
      readonly groupID: string | null;
    }
  /** The replica was committed up to `version` (sync workers). */
  | {readonly type: 'version'; readonly version: string}
  | {readonly type: 'stats'; readonly id: number}
  | {readonly type: 'admin'; readonly id: number; readonly request: AdminRequest}
  /** Close every socket for a restart, flush, and exit 0. */
  | {readonly type: 'drain'};

export type FromChild =
  | {readonly type: 'log'; readonly level: LogLevel; readonly msg: string; readonly ctx: LogContext}
  /** Serving (a worker) or replicating (the replicator, with the replica's version). */
  | {readonly type: 'ready'; readonly version?: string | undefined}
  | {readonly type: 'version'; readonly version: string}
  | {readonly type: 'stats'; readonly id: number; readonly stats: ProcessStats}
  /** The answer to an `admin` request; `error` (a name, never data) when it failed. */
  | {
      readonly type: 'admin';
      readonly id: number;
      readonly reply?: AdminReply[AdminRequest['kind']] | undefined;
      readonly error?: string | undefined;
    }
  /** A failure that a restart cannot fix: zero-cache stops (one line, exit 1). */
  | {readonly type: 'fatal'; readonly message: string; readonly kind?: string | undefined};
