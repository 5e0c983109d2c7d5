export {ClientGroup} from './client-group.ts';
export type {ClientGroupOptions} from './client-group.ts';
export {CVRStore, cvrSchemaName} from './cvr-store.ts';
export type {LoadedCVR} from './cvr-store.ts';
export {EngineQueryDriver, engineQueryDriverFactory} from './engine-query-driver.ts';
export type {
  EngineSnapshot,
  EngineSnapshotAdvance,
  EngineSnapshotFactory,
} from './engine-query-driver.ts';
export {passThroughQueryPreparer} from './group-client.ts';
export type {
  GroupClient,
  PreparedQuery,
  QueryContext,
  QueryPreparer,
  RequestedQuery,
} from './group-client.ts';
export {anonymousAuthenticator, unsupportedPusher} from './hooks.ts';
export type {AuthResult, Authenticator, PushContext, Pusher} from './hooks.ts';
export {DEFAULT_SYNC_LIMITS} from './limits.ts';
export type {SyncLimits} from './limits.ts';
export type {
  AdvanceResult,
  DriverRow,
  QueryDriver,
  QueryDriverFactory,
  QueryRowChange,
  ReplicaNotifier,
} from './query-driver.ts';
export {SyncServer} from './sync-server.ts';
export type {SyncServerOptions, SyncServerStats} from './sync-server.ts';
