// Every zero-cache setting, declared once. docs/configuration.md mirrors this table.

export type ConfigType =
  | 'string'
  | 'postgres-url'
  | 'http-url'
  | 'port'
  | 'app-id'
  | 'log-level'
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
  /** Accepted and validated but not acted on yet: help says so, start-up warns when set. */
  readonly notUsedYet?: boolean;
  readonly description: string;
}

export const CONFIG_VARS = [
  {
    env: 'ZERO_UPSTREAM_DB',
    key: 'upstreamDb',
    type: 'postgres-url',
    required: true,
    secret: true,
    description: 'Postgres URL of the app database (the replication source).',
  },
  {
    env: 'ZERO_CVR_DB',
    key: 'cvrDb',
    type: 'postgres-url',
    secret: true,
    description:
      'Postgres URL for client view records and client-group pins; default: the upstream database.',
  },
  {
    env: 'ZERO_CHANGE_DB',
    key: 'changeDb',
    type: 'postgres-url',
    secret: true,
    notUsedYet: true,
    description:
      'Not used yet: checked to be a postgres:// URL, then ignored (zero-cache warns at start when it is set). The change log is kept in the SQLite replica.',
  },
  {
    env: 'ZERO_REPLICA_FILE',
    key: 'replicaFile',
    type: 'string',
    default: 'zero-replica.db',
    description: 'Path of the SQLite replica file.',
  },
  {
    env: 'ZERO_PORT',
    key: 'port',
    type: 'port',
    default: '4848',
    description:
      'TCP port zero-cache listens on; bound before replication starts, so a taken port stops start-up at once.',
  },
  {
    env: 'ZERO_HOST',
    key: 'host',
    type: 'string',
    default: '0.0.0.0',
    description: 'Listen address.',
  },
  {
    env: 'ZERO_APP_ID',
    key: 'appId',
    type: 'app-id',
    default: 'zero',
    description:
      'Names the publication, replication slot and internal schemas upstream (lowercase letters, digits, _).',
  },
  {
    env: 'ZERO_SCHEMA_PATH',
    key: 'schemaPath',
    type: 'string',
    description: "The app's schema file (.ts or .js) exporting schema and permissions.",
  },
  {
    env: 'ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS',
    key: 'allowAllWithoutPermissions',
    type: 'boolean',
    default: 'false',
    description:
      'Without permissions (no ZERO_SCHEMA_PATH, or a schema file exporting none) every client may read and write every row; with NODE_ENV=production zero-cache refuses to start like that unless this is true.',
  },
  {
    env: 'ZERO_LEGACY_API',
    key: 'legacyApi',
    type: 'boolean',
    description:
      'false: raw ZQL queries and CRUD mutations from clients are refused (an app using only defined queries and mutators); no permissions are then needed. Unset: the schema file decides (enableLegacyQueries / enableLegacyMutators, on when absent).',
  },
  {
    env: 'ZERO_LOG_LEVEL',
    key: 'logLevel',
    type: 'log-level',
    default: 'info',
    description: 'debug, info, warn or error.',
  },
  {
    env: 'ZERO_AUTH_SECRET',
    key: 'authSecret',
    type: 'string',
    secret: true,
    description:
      'Symmetric key to verify HS256/384/512 JWTs. With no ZERO_AUTH_* key, tokens are opaque: forwarded to the API server, never verified.',
  },
  {
    env: 'ZERO_AUTH_JWK',
    key: 'authJwk',
    type: 'json-object',
    secret: true,
    description: 'A public key in JWK form (RS*, PS*, ES*, EdDSA).',
  },
  {
    env: 'ZERO_AUTH_JWKS_URL',
    key: 'authJwksUrl',
    type: 'http-url',
    description: 'URL of a JWKS; keys are cached and refetched on an unknown kid.',
  },
  {
    env: 'ZERO_AUTH_ISSUER',
    key: 'authIssuer',
    type: 'string',
    description:
      'Required iss claim, if set (checked only when a ZERO_AUTH_* key verifies tokens).',
  },
  {
    env: 'ZERO_AUTH_AUDIENCE',
    key: 'authAudience',
    type: 'string',
    description:
      'Required aud claim, if set (checked only when a ZERO_AUTH_* key verifies tokens).',
  },
  {
    env: 'ZERO_MUTATE_URL',
    key: 'mutateUrl',
    type: 'http-url',
    aliases: ['ZERO_PUSH_URL'],
    description:
      'Custom mutator endpoint of the API server; unset: custom mutations are refused (CRUD writes still work).',
  },
  {
    env: 'ZERO_MUTATE_API_KEY',
    key: 'mutateApiKey',
    type: 'string',
    secret: true,
    description: 'API key sent to the mutate endpoint.',
  },
  {
    env: 'ZERO_MUTATE_FORWARD_COOKIES',
    key: 'mutateForwardCookies',
    type: 'boolean',
    default: 'false',
    description: "Forward the client's Cookie header to the mutate endpoint.",
  },
  {
    env: 'ZERO_GET_QUERIES_URL',
    key: 'getQueriesUrl',
    type: 'http-url',
    aliases: ['ZERO_QUERY_URL'],
    description: 'Synced query endpoint of the API server; unset: named queries are refused.',
  },
  {
    env: 'ZERO_GET_QUERIES_API_KEY',
    key: 'getQueriesApiKey',
    type: 'string',
    secret: true,
    aliases: ['ZERO_QUERY_API_KEY'],
    description: 'API key sent to the get-queries endpoint.',
  },
  {
    env: 'ZERO_GET_QUERIES_FORWARD_COOKIES',
    key: 'getQueriesForwardCookies',
    type: 'boolean',
    aliases: ['ZERO_QUERY_FORWARD_COOKIES'],
    default: 'false',
    description: "Forward the client's Cookie header to the get-queries endpoint.",
  },
  {
    env: 'ZERO_GET_QUERIES_REVALIDATE_SECONDS',
    key: 'getQueriesRevalidateSeconds',
    type: 'positive-int',
    default: '300',
    description: 'How often synced queries are re-transformed.',
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS',
    key: 'cvrGarbageCollectionInactivityThresholdHours',
    type: 'positive-number',
    default: '48',
    description:
      'Client groups unused (no process holding them) for longer than this lose their CVR.',
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_INTERVAL_SECONDS',
    key: 'cvrGarbageCollectionInitialIntervalSeconds',
    type: 'positive-int',
    default: '60',
    description:
      'Time between CVR garbage collection rounds; doubles (up to 16 minutes) while there is nothing to purge.',
  },
  {
    env: 'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE',
    key: 'cvrGarbageCollectionInitialBatchSize',
    type: 'non-negative-int',
    default: '25',
    description:
      'Client groups purged per round at first (grows while rounds are full); 0 turns CVR garbage collection off.',
  },
  {
    env: 'ZERO_QUERY_MAX_DEPTH',
    key: 'queryMaxDepth',
    type: 'positive-int',
    default: '10',
    description:
      'Most levels of related/exists subqueries below a query root; deeper queries are refused with a QueryError.',
  },
  {
    env: 'ZERO_QUERY_MAX_NODES',
    key: 'queryMaxNodes',
    type: 'positive-int',
    default: '500',
    description:
      'Most nodes (queries, subqueries, conditions, correlated columns) in one query; larger queries are refused.',
  },
  {
    env: 'ZERO_QUERY_MAX_IN_LIST_LENGTH',
    key: 'queryMaxInListLength',
    type: 'positive-int',
    default: '1000',
    description: 'Most values in one IN / NOT IN list of a query.',
  },
  {
    env: 'ZERO_QUERY_MAX_STRING_LENGTH',
    key: 'queryMaxStringLength',
    type: 'positive-int',
    default: '10000',
    description: 'Most characters of any one string (literal or name) in a query.',
  },
  {
    env: 'ZERO_QUERY_MAX_HYDRATION_ROWS',
    key: 'queryMaxHydrationRows',
    type: 'positive-int',
    default: '1000000',
    description:
      'Most rows the engine may fetch from the replica to hydrate one query (EXISTS checks included); a query that reads more is stopped and refused with a QueryError.',
  },
  {
    env: 'ZERO_MAX_QUERIES_PER_CLIENT_GROUP',
    key: 'maxQueriesPerClientGroup',
    type: 'positive-int',
    default: '500',
    description: 'Most live queries one client group may hold; more are refused with a QueryError.',
  },
  {
    env: 'ZERO_ADMIN_PASSWORD',
    key: 'adminPassword',
    type: 'string',
    secret: true,
    notUsedYet: true,
    description:
      'Not used yet: accepted, then ignored (zero-cache warns at start when it is set); zero-cache has no admin or debug endpoints.',
  },
  {
    env: 'ZERO_ALLOWED_ORIGINS',
    key: 'allowedOrigins',
    type: 'list',
    description:
      'Comma-separated origins allowed to open a WebSocket; checked only when a *_FORWARD_COOKIES setting is true (unset then: the API server origins and localhost).',
  },
] as const satisfies readonly ConfigVar[];
