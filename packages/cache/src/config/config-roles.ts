// The settings of zero-cache on several machines (docs/scale-out.md): which role this node
// plays, where the replication manager's snapshot server is, this node's id, and how long a
// silent node holds the change log back. Declared here and spliced into CONFIG_VARS; the
// checks of their combinations run after every setting is parsed (`resolveRoleSettings`).
import {hostname} from 'node:os';
import {randomBytes} from 'node:crypto';
import {ConfigError} from './config-error.ts';
import type {ConfigVar} from './config-var.ts';

export const ZERO_ROLES = ['all', 'replication-manager', 'view-syncer'] as const;
export type ZeroRole = (typeof ZERO_ROLES)[number];

/** What ZERO_TASK_ID may hold: it is written into Postgres and into logs. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const ROLE_VARS = [
  {
    env: 'ZERO_ROLE',
    docDefault: '`all`',
    doc: '`all`: one node does everything (replication, change log in the replica, sync). `replication-manager`: owns the replication slot, writes the change log into `ZERO_CHANGE_DB`, serves replica snapshots on `ZERO_CHANGE_STREAMER_PORT`, purges CVRs, serves no sync clients. `view-syncer`: follows the change log from a snapshot and serves sync clients. See [scale-out.md](scale-out.md)',
    key: 'role',
    type: 'role',
    default: 'all',
    description:
      'all (one node does everything), replication-manager (slot, change log, snapshots; no clients) or view-syncer (follows the change log, serves clients); see docs/scale-out.md.',
  },
  {
    env: 'ZERO_CHANGE_STREAMER_URI',
    docDefault: 'unset',
    doc: "`view-syncer` only, and required there: http(s) URL of the replication manager's snapshot server (its `ZERO_CHANGE_STREAMER_PORT`), e.g. `http://manager:4849`",
    key: 'changeStreamerUri',
    type: 'http-url',
    description:
      "ZERO_ROLE=view-syncer only, required there: http(s) URL of the replication manager's snapshot server.",
  },
  {
    env: 'ZERO_CHANGE_STREAMER_PORT',
    docDefault: '`ZERO_PORT` + 1',
    doc: '`replication-manager` only: port of the snapshot server (on `ZERO_HOST`) that view-syncers download a replica from when they start without one or fall behind the change log (`Authorization: Bearer` `ZERO_ADMIN_PASSWORD`); must differ from `ZERO_PORT`',
    key: 'changeStreamerPort',
    type: 'port',
    description:
      'ZERO_ROLE=replication-manager only: port of the snapshot server that view-syncers download replicas from; default: ZERO_PORT + 1.',
  },
  {
    env: 'ZERO_TASK_ID',
    docDefault: 'host name, pid and random',
    doc: "this node's id: the node id in the change log's heartbeat table and the owner of the client groups it serves; letters, digits, `.` `_` `:` `-`, at most 128 characters",
    key: 'taskId',
    type: 'task-id',
    description:
      "This node's id in the change log and as owner of its client groups; default: host name, pid and a random part.",
  },
  {
    env: 'ZERO_CHANGE_LOG_NODE_TIMEOUT_SECONDS',
    docDefault: '`60`',
    doc: "`replication-manager`: a view-syncer whose heartbeat is older than this no longer holds back the change log's trimming (positive integer); it takes a fresh snapshot if it comes back behind the trim point",
    key: 'changeLogNodeTimeoutSeconds',
    type: 'positive-int',
    default: '60',
    description:
      'A view-syncer silent for longer than this no longer holds back trimming of the change log (replication-manager).',
  },
] as const satisfies readonly ConfigVar[];

/** The role settings, resolved: defaults filled in and combinations checked. */
export type RoleSettings = {
  readonly role: ZeroRole;
  readonly changeStreamerUri: string | undefined;
  readonly changeStreamerPort: number;
  readonly taskId: string;
  readonly changeLogNodeTimeoutSeconds: number;
};

type Parsed = Readonly<Record<string, unknown>>;

function defaultTaskId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .slice(0, 64) || 'node';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`.replace(/^[^A-Za-z0-9]+/, '');
}

/**
 * Fills in the role settings' defaults and refuses combinations that cannot work, with a
 * message naming the fix. `parsed` holds every setting as parseConfig read it.
 */
export function resolveRoleSettings(parsed: Parsed): RoleSettings {
  const role = parsed['role'] as ZeroRole;
  const port = parsed['port'] as number;
  const uri = parsed['changeStreamerUri'] as string | undefined;
  const streamerPort = parsed['changeStreamerPort'] as number | undefined;
  if (role === 'all' && uri !== undefined) {
    throw new ConfigError(
      'conflict',
      'ZERO_CHANGE_STREAMER_URI',
      'ZERO_CHANGE_STREAMER_URI is set but ZERO_ROLE is all (one node that replicates itself): ' +
        'set ZERO_ROLE=view-syncer to follow that replication manager, or unset ZERO_CHANGE_STREAMER_URI',
    );
  }
  if (role === 'all' && streamerPort !== undefined) {
    throw new ConfigError(
      'conflict',
      'ZERO_CHANGE_STREAMER_PORT',
      'ZERO_CHANGE_STREAMER_PORT is set but ZERO_ROLE is all (no snapshot server runs): ' +
        'set ZERO_ROLE=replication-manager, or unset ZERO_CHANGE_STREAMER_PORT',
    );
  }
  if (role === 'view-syncer' && uri === undefined) {
    throw new ConfigError(
      'missing',
      'ZERO_CHANGE_STREAMER_URI',
      "ZERO_CHANGE_STREAMER_URI is required with ZERO_ROLE=view-syncer: set it to the replication manager's snapshot server, e.g. http://manager:4849 (its ZERO_CHANGE_STREAMER_PORT)",
    );
  }
  if (role !== 'all' && parsed['adminPassword'] === undefined) {
    // Fail closed: snapshots hold every replicated row; they are never served unauthenticated.
    throw new ConfigError(
      'missing',
      'ZERO_ADMIN_PASSWORD',
      `ZERO_ADMIN_PASSWORD is required with ZERO_ROLE=${role}: it authenticates replica snapshot downloads between nodes; set the same long random secret on every node`,
    );
  }
  let changeStreamerPort = streamerPort ?? port + 1;
  if (role === 'replication-manager') {
    if (streamerPort === undefined && port === 65535) {
      throw new ConfigError(
        'invalid',
        'ZERO_CHANGE_STREAMER_PORT',
        'ZERO_CHANGE_STREAMER_PORT defaults to ZERO_PORT + 1, but ZERO_PORT is 65535: set ZERO_CHANGE_STREAMER_PORT to a free port',
      );
    }
    if (changeStreamerPort === port) {
      throw new ConfigError(
        'conflict',
        'ZERO_CHANGE_STREAMER_PORT',
        `ZERO_CHANGE_STREAMER_PORT and ZERO_PORT are both ${port}: the snapshot server needs a port of its own; set ZERO_CHANGE_STREAMER_PORT to another port`,
      );
    }
  } else {
    changeStreamerPort = Math.min(changeStreamerPort, 65535);
  }
  return {
    role,
    changeStreamerUri: uri,
    changeStreamerPort,
    taskId: (parsed['taskId'] as string | undefined) ?? defaultTaskId(),
    changeLogNodeTimeoutSeconds: parsed['changeLogNodeTimeoutSeconds'] as number,
  };
}
