// @zync/client: the browser-safe client. Node-only stores have their own entries
// (./kv/sqlite-store.ts, ./kv/expo-sqlite-store.ts).
export {replaceContext, Zero} from './zero/zero.ts';
export type {UpdateNeededReason, ZeroOptions} from './zero/options.ts';
export type {SchemaMutators, TableMutators, Transaction} from './zero/transaction.ts';
export type {DeleteID, InsertValue, UpdateValue} from './zero/row-types.ts';
export type {LiveView} from './zero/zero.ts';
export type {
  Inspector,
  InspectorClient,
  InspectorClientGroup,
  InspectorQuery,
} from './zero/inspector.ts';
export type {MutatorResult, MutatorResultDetails} from './zero/zero-mutate.ts';
export type {ConnectionState, ConnectionStateName} from './connection/connection-state.ts';
export type {AuthOption} from './connection/auth-source.ts';
export type {SocketFactory, SocketLike} from './connection/connection.ts';
export * from './kv/index.ts';
export * from './storage/index.ts';
