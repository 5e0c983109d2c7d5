// Every zero-cache setting, declared once. The tables in README.md and docs/configuration.md
// are generated from it (`npm run docs:config`).
import {ROLE_VARS} from './config-roles.ts';

export type ConfigType =
  | 'string'
  | 'postgres-url'
  | 'http-url'
  | 'port'
  | 'role'
  | 'task-id'
  | 'app-id'
  | 'log-level'
  | 'log-format'
  | 'boolean'
  | 'positive-int'
  | 'non-negative-int'
  | 'positive-number'
  | 'json-object'
  | 'list';

export interface ConfigVar {
  readonly env: string;
  readonly key: string;
  readonly type: ConfigType;
  readonly default?: string;
  readonly required?: boolean;
  /** Never echoed in errors or help. */
  readonly secret?: boolean;
  readonly aliases?: readonly string[];
  /** One line for `zero-cache --help`. */
  readonly description: string;
  /**
   * The documentation's table: the default as shown there, and what the setting does today
   * (Markdown; links relative to docs/). `npm run docs:config` renders both tables from it.
   */
  readonly docDefault: string;
  readonly doc: string;
}

export const CONFIG_VARS = [
  {
    env: 'ZERO_UPSTREAM_DB',
    docDefault: 'required',
    doc: 'Postgres URL of the app database: replicated into the replica; CRUD writes are applied there',
    key: 'upstreamDb',
    type: 'postgres-url',
    required: true,
    secret: true,
    description: 'Postgres URL of the app database (the replication source).',
  },
  {
    env: 'ZERO_CVR_DB',
    docDefault: 'the upstream database',
    doc: 'Postgres URL where client view records and client-group pins are kept',
    key: 'cvrDb',
    type: 'postgres-url',
    secret: true,
    description:
      'Postgres URL for client view records and client-group pins; default: the upstream database.',
  },
  {
    env: 'ZERO_CHANGE_DB',
    docDefault: 'the upstream database',
    doc: 'Postgres URL of the change log that the `replication-manager` writes and `view-syncer`s follow (schema `zync_<appId>_cdc`; see [scale-out.md](scale-out.md)). With `ZERO_ROLE=all` the change log stays in the SQLite replica and this database is not touched',
    key: 'changeDb',
    type: 'postgres-url',
    secret: true,
    description:
      'Postgres URL of the change log shared by the replication manager and the view-syncers (ZERO_ROLE); with ZERO_ROLE=all the change log stays in the replica. Default: the upstream database.',
  },
  {
    env: 'ZERO_REPLICA_FILE',
    docDefault: '`zero-replica.db`',
    doc: 'path of the SQLite replica (relative to the working directory)',
    key: 'replicaFile',
    type: 'string',
    default: 'zero-replica.db',
    description: 'Path of the SQLite replica file.',
  },
  {
    env: 'ZERO_PORT',
    docDefault: '`4848`',
    doc: 'TCP port zero-cache listens on (1\u201365535); bound before replication starts, so a taken port stops start-up at once',
    key: 'port',
    type: 'port',
    default: '4848',
    description:
      'TCP port zero-cache listens on; bound before replication starts, so a taken port stops start-up at once.',
  },
  {
    env: 'ZERO_HOST',
    docDefault: '`0.0.0.0`',
    doc: 'listen address (tests and `npm start` use `127.0.0.1`)',
    key: 'host',
    type: 'string',
    default: '0.0.0.0',
    description: 'Listen address.',
  },
  {
    env: 'ZERO_NUM_SYNC_WORKERS',
    docDefault: 'cores − 1 (at least 1)',
    doc: 'sync worker processes (positive integer). `1`: one process, as before; more: a dispatcher process hands each WebSocket to the worker that owns its client group, one replicator process writes the replica (see [processes.md](processes.md)). A `replication-manager` runs no sync workers: `2` or more only puts its replicator in a process of its own',
    key: 'numSyncWorkers',
    type: 'positive-int',
    description:
      'Sync worker processes; default: the number of cores minus one, at least 1. With 1, zero-cache runs in one process; with more, a dispatcher, a replicator and the workers (docs/processes.md). A replication-manager runs none.',
  },
  ...ROLE_VARS,
  {
    env: 'ZERO_APP_ID',
    docDefault: '`zero`',
    doc: 'names the publication, replication slot and internal schemas upstream; `/^[a-z0-9_]+$/`',
    key: 'appId',
    type: 'app-id',
    default: 'zero',
    description:
      'Names the publication, replication slot and internal schemas upstream (lowercase letters, digits, _).',
  },
  {
    env: 'ZERO_SCHEMA_PATH',
    docDefault: 'unset',
    doc: "the app's schema file (`.ts`/`.js`) exporting `schema` and `permissions`; read permissions filter queries, write permissions check CRUD writes",
    key: 'schemaPath',
    type: 'string',
    description: "The app's schema file (.ts or .js) exporting schema and permissions.",
  },
  {
    env: 'ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS',
    docDefault: '`false`',
    doc: '`true` allows running without permissions (every read and write allowed) with `NODE_ENV=production`, where zero-cache otherwise refuses to start; in development it replaces the warning block with one line',
    key: 'allowAllWithoutPermissions',
    type: 'boolean',
    default: 'false',
    description:
      'Without permissions (no ZERO_SCHEMA_PATH, or a schema file exporting none) every client may read and write every row; with NODE_ENV=production zero-cache refuses to start like that unless this is true.',
  },
  {
    env: 'ZERO_LEGACY_API',
    docDefault: 'unset',
    doc: '`false`: raw ZQL queries and CRUD mutations from clients are refused (an app using only defined queries and mutators), and no permissions are needed, also with `NODE_ENV=production`; unset: the schema file decides (`enableLegacyQueries` / `enableLegacyMutators`, on when absent). `zero-cache-dev` sets it when there is no `schema.ts`',
    key: 'legacyApi',
    type: 'boolean',
    description:
      'false: raw ZQL queries and CRUD mutations from clients are refused (an app using only defined queries and mutators); no permissions are then needed. Unset: the schema file decides (enableLegacyQueries / enableLegacyMutators, on when absent).',
  },
  {
    env: 'ZERO_LOG_LEVEL',
    docDefault: '`info`',
    doc: '`debug`, `info`, `warn`, `error`',
    key: 'logLevel',
    type: 'log-level',
    default: 'info',
    description: 'debug, info, warn or error.',
  },
  {
    env: 'ZERO_LOG_FORMAT',
    docDefault: '`text`',
    doc: '`text`: one line per entry (`time LEVEL msg key=value …`); `json`: one JSON object per line (`time`, `level`, `msg`, `component`, then the fields; see [operations.md](operations.md))',
    key: 'logFormat',
    type: 'log-format',
    default: 'text',
    description:
      'text (one line per entry, for people) or json (one JSON object per line: time, level, msg, component, then fields).',
  },
  {
    env: 'ZERO_LOG_SLOW_HYDRATE_THRESHOLD',
    docDefault: '`100`',
    doc: 'a query whose hydration takes at least this many milliseconds is logged (`WARN Slow query hydration`) with its hash, table, row count and time, never its rows or arguments (positive integer)',
    key: 'logSlowHydrateThresholdMs',
    type: 'positive-int',
    default: '100',
    description:
      'A query whose hydration takes at least this many milliseconds is logged (warn) with its hash, table, row count and time, never its rows or arguments.',
  },
  {
    env: 'ZERO_AUTH_SECRET',
    docDefault: 'unset',
    doc: 'symmetric key: verify HS256/384/512 JWTs. With no `ZERO_AUTH_*` key, tokens are opaque: forwarded to the API server, never verified',
    key: 'authSecret',
    type: 'string',
    secret: true,
    description:
      'Symmetric key to verify HS256/384/512 JWTs. With no ZERO_AUTH_* key, tokens are opaque: forwarded to the API server, never verified.',
  },
  {
    env: 'ZERO_AUTH_JWK',
    docDefault: 'unset',
    doc: 'a public key in JWK form (JSON object) to verify JWTs',
    key: 'authJwk',
    type: 'json-object',
    secret: true,
    description: 'A public key in JWK form (RS*, PS*, ES*, EdDSA).',
  },
  {
    env: 'ZERO_AUTH_JWKS_URL',
    docDefault: 'unset',
    doc: 'URL of a JWKS (http/https) to verify JWTs; keys are cached and refetched on an unknown `kid`',
    key: 'authJwksUrl',
    type: 'http-url',
    description: 'URL of a JWKS; keys are cached and refetched on an unknown kid.',
  },
  {
    env: 'ZERO_AUTH_ISSUER',
    docDefault: 'unset',
    doc: 'required `iss` claim; checked only when a `ZERO_AUTH_*` key verifies tokens',
    key: 'authIssuer',
    type: 'string',
    description:
      'Required iss claim, if set (checked only when a ZERO_AUTH_* key verifies tokens).',
  },
  {
    env: 'ZERO_AUTH_AUDIENCE',
    docDefault: 'unset',
    doc: 'required `aud` claim; checked only when a `ZERO_AUTH_*` key verifies tokens',
    key: 'authAudience',
    type: 'string',
    description:
      'Required aud claim, if set (checked only when a ZERO_AUTH_* key verifies tokens).',
  },
  {
    env: 'ZERO_MUTATE_URL',
    docDefault: 'unset',
    doc: 'custom mutator endpoint (http/https); unset: custom mutations are refused, CRUD writes still work',
    key: 'mutateUrl',
    type: 'http-url',
    aliases: ['ZERO_PUSH_URL'],
    description:
      'Custom mutator endpoint of the API server; unset: custom mutations are refused (CRUD writes still work).',
  },
  {
    env: 'ZERO_MUTATE_API_KEY',
    docDefault: 'unset',
    doc: 'API key sent to the mutate endpoint',
    key: 'mutateApiKey',
    type: 'string',
    secret: true,
    description: 'API key sent to the mutate endpoint.',
  },
  {
    env: 'ZERO_MUTATE_FORWARD_COOKIES',
    docDefault: '`false`',
    doc: "forward the client's `Cookie` header on pushes (turns on the origin check)",
    key: 'mutateForwardCookies',
    type: 'boolean',
    default: 'false',
    description: "Forward the client's Cookie header to the mutate endpoint.",
  },
  {
    env: 'ZERO_GET_QUERIES_URL',
    docDefault: 'unset',
    doc: 'synced query endpoint (http/https); unset: named queries are refused',
    key: 'getQueriesUrl',
    type: 'http-url',
    aliases: ['ZERO_QUERY_URL'],
    description: 'Synced query endpoint of the API server; unset: named queries are refused.',
  },
  {
    env: 'ZERO_GET_QUERIES_API_KEY',
    docDefault: 'unset',
    doc: 'API key sent to the get-queries endpoint',
    key: 'getQueriesApiKey',
    type: 'string',
    secret: true,
    aliases: ['ZERO_QUERY_API_KEY'],
    description: 'API key sent to the get-queries endpoint.',
  },
  {
    env: 'ZERO_GET_QUERIES_FORWARD_COOKIES',
    docDefault: '`false`',
    doc: "forward the client's `Cookie` header on get-queries calls (turns on the origin check)",
    key: 'getQueriesForwardCookies',
    type: 'boolean',
    aliases: ['ZERO_QUERY_FORWARD_COOKIES'],
    default: 'false',
    description: "Forward the client's Cookie header to the get-queries endpoint.",
  },
  {
    env: 'ZERO_GET_QUERIES_REVALIDATE_SECONDS',
    docDefault: '`300`',
    doc: 'how often synced queries are re-transformed (positive integer)',
    key: 'getQueriesRevalidateSeconds',
    type: 'positive-int',
    default: '300',
    description: 'How often synced queries are re-transformed.',
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS',
    docDefault: '`48`',
    doc: 'a client group nobody has held for longer than this loses its CVR (positive number; see [cvr.md](cvr.md))',
    key: 'cvrGarbageCollectionInactivityThresholdHours',
    type: 'positive-number',
    default: '48',
    description:
      'Client groups unused (no process holding them) for longer than this lose their CVR.',
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_INTERVAL_SECONDS',
    docDefault: '`60`',
    doc: 'time between garbage collection rounds; doubles, up to 16 minutes, while there is nothing to purge (positive integer)',
    key: 'cvrGarbageCollectionInitialIntervalSeconds',
    type: 'positive-int',
    default: '60',
    description:
      'Time between CVR garbage collection rounds; doubles (up to 16 minutes) while there is nothing to purge.',
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE',
    docDefault: '`25`',
    doc: 'groups purged per round at first, more while rounds come back full; `0` turns it off (integer \u2265 0)',
    key: 'cvrGarbageCollectionInitialBatchSize',
    type: 'non-negative-int',
    default: '25',
    description:
      'Client groups purged per round at first (grows while rounds are full); 0 turns CVR garbage collection off.',
  },
  {
    env: 'ZERO_QUERY_MAX_DEPTH',
    docDefault: '`10`',
    doc: "most levels of `related`/`exists` subqueries below a query's root (positive integer; see [security.md](security.md))",
    key: 'queryMaxDepth',
    type: 'positive-int',
    default: '10',
    description:
      'Most levels of related/exists subqueries below a query root; deeper queries are refused with a QueryError.',
  },
  {
    env: 'ZERO_QUERY_MAX_NODES',
    docDefault: '`500`',
    doc: 'most nodes (queries, subqueries, conditions, correlated columns) in one query (positive integer)',
    key: 'queryMaxNodes',
    type: 'positive-int',
    default: '500',
    description:
      'Most nodes (queries, subqueries, conditions, correlated columns) in one query; larger queries are refused.',
  },
  {
    env: 'ZERO_QUERY_MAX_IN_LIST_LENGTH',
    docDefault: '`1000`',
    doc: 'most values in one `IN` / `NOT IN` list (positive integer)',
    key: 'queryMaxInListLength',
    type: 'positive-int',
    default: '1000',
    description: 'Most values in one IN / NOT IN list of a query.',
  },
  {
    env: 'ZERO_QUERY_MAX_STRING_LENGTH',
    docDefault: '`10000`',
    doc: 'most characters of any one string (literal or name) in a query (positive integer)',
    key: 'queryMaxStringLength',
    type: 'positive-int',
    default: '10000',
    description: 'Most characters of any one string (literal or name) in a query.',
  },
  {
    env: 'ZERO_QUERY_MAX_HYDRATION_ROWS',
    docDefault: '`1000000`',
    doc: "rows one query's hydration may fetch, `exists` checks included; more: refused with a `QueryError` (positive integer)",
    key: 'queryMaxHydrationRows',
    type: 'positive-int',
    default: '1000000',
    description:
      'Most rows the engine may fetch from the replica to hydrate one query (EXISTS checks included); a query that reads more is stopped and refused with a QueryError.',
  },
  {
    env: 'ZERO_MAX_QUERIES_PER_CLIENT_GROUP',
    docDefault: '`500`',
    doc: 'most live queries one client group may hold (positive integer)',
    key: 'maxQueriesPerClientGroup',
    type: 'positive-int',
    default: '500',
    description: 'Most live queries one client group may hold; more are refused with a QueryError.',
  },
  {
    env: 'ZERO_ADMIN_PASSWORD',
    docDefault: 'unset',
    doc: 'protects `/metrics` and the admin endpoints under `/admin` (HTTP Basic with any user name, or `Authorization: Bearer`); unset: they answer 404. **Required with `NODE_ENV=production`**: zero-cache refuses to start without it (see [operations.md](operations.md))',
    key: 'adminPassword',
    type: 'string',
    secret: true,
    description:
      'Protects /metrics and the admin endpoints under /admin (HTTP Basic or Bearer); unset: they answer 404. Required with NODE_ENV=production.',
  },
  {
    env: 'ZERO_ALLOWED_ORIGINS',
    docDefault: 'unset',
    doc: "comma-separated origins allowed to open a WebSocket; checked only when a `*_FORWARD_COOKIES` setting is `true` (unset then: the API server's origins and localhost; see [auth.md](auth.md))",
    key: 'allowedOrigins',
    type: 'list',
    description:
      'Comma-separated origins allowed to open a WebSocket; checked only when a *_FORWARD_COOKIES setting is true (unset then: the API server origins and localhost).',
  },
] as const satisfies readonly ConfigVar[];
