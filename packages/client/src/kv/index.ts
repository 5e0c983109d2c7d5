// Browser-safe store exports. The SQLite providers have their own entries:
// `./sqlite-store.ts` (Node) and `./expo-sqlite-store.ts` (React Native).
export type {CreateStore, DropStore, Read, ScanRead, Store, StoreProvider, Write} from './store.ts';
export {canScan, StoreClosedError} from './store.ts';
export {MemDatabases, memStoreProvider} from './mem-store.ts';
export type {MemStoreOptions} from './mem-store.ts';
export {idbStoreProvider} from './idb-store.ts';
export type {IDBStoreOptions} from './idb-store.ts';
