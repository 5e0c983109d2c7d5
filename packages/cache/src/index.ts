export {CONFIG_VARS, ConfigError, configHelp, parseConfig} from './config/index.ts';
export type {ConfigErrorKind, ConfigType, ConfigVar, ZeroConfig} from './config/index.ts';
export {Replicator} from './replicator/replicator.ts';
export type {ReplicatorOptions, VersionListener} from './replicator/replicator.ts';
export {ReplicatorError} from './replicator/replicator-error.ts';
export type {ReplicatorErrorKind} from './replicator/replicator-error.ts';
export {
  fromReplicaRow,
  fromReplicaValue,
  openReplica,
  readReplicationState,
} from './replica/open-replica.ts';
export type {BigIntMode, OpenReplicaOptions, Replica} from './replica/open-replica.ts';
export type {ColumnSpec, TableSpec} from './replica/table-spec.ts';
export type {ValueKind} from './replica/pg-types.ts';
export type {ReplicationState} from './replica/replica-schema.ts';
export {lsnToVersion, versionToLsn} from './replica/version.ts';
export {redactUrl} from './pg/redact-url.ts';
export {runZeroCache} from './server/run-zero-cache.ts';
export {systemClock} from './server/clock.ts';
export type {Clock, ClockTimer} from './server/clock.ts';
export type {ZeroCache, ZeroCacheHooks} from './server/run-zero-cache.ts';
export {ProcessFailure, runZeroCacheProcesses} from './processes/dispatcher.ts';
export type {
  ProcessesOptions,
  ProcessInfo,
  ProcessReport,
  ZeroCacheProcesses,
} from './processes/dispatcher.ts';
export type {ProcessStats} from './processes/messages.ts';
export {workerIndexFor} from './processes/routing.ts';
export {ClientGroup} from './view-syncer/client-group.ts';
export type {ClientGroupOptions} from './view-syncer/client-group.ts';
export {CVRStore, cvrSchemaName} from './cvr/cvr-store.ts';
export type {LoadedCVR} from './cvr/cvr-store.ts';
export {EngineQueryDriver, engineQueryDriverFactory} from './view-syncer/engine-query-driver.ts';
export type {
  EngineSnapshot,
  EngineSnapshotAdvance,
  EngineSnapshotFactory,
} from './view-syncer/engine-query-driver.ts';
export {passThroughQueryPreparer} from './view-syncer/group-client.ts';
export type {
  GroupClient,
  PreparedQuery,
  QueryContext,
  QueryPreparer,
  RequestedQuery,
} from './view-syncer/group-client.ts';
export {anonymousAuthenticator, unsupportedPusher} from './server/hooks.ts';
export type {AuthResult, Authenticator, PushContext, Pusher} from './server/hooks.ts';
export {DEFAULT_SYNC_LIMITS} from './server/limits.ts';
export type {SyncLimits} from './server/limits.ts';
export type {
  AdvanceResult,
  DriverRow,
  QueryDriver,
  QueryDriverFactory,
  QueryRowChange,
  ReplicaNotifier,
} from './view-syncer/query-driver.ts';
export {SyncServer} from './server/sync-server.ts';
export type {SyncServerOptions, SyncServerStats} from './server/sync-server.ts';
export * from './push/index.ts';
export * from './auth/index.ts';
export * from './permissions/index.ts';
export * from './queries/index.ts';
