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
export type {ZeroCache, ZeroCacheHooks} from './server/run-zero-cache.ts';
export * from './sync/index.ts';
export * from './push/index.ts';
export * from './auth/index.ts';
export * from './permissions/index.ts';
export * from './queries/index.ts';
