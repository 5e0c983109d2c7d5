export {DATABASE_PREFIX, databaseName} from './database-name.ts';
export type {DatabaseNameParts} from './database-name.ts';
export {dropAllDatabases, dropDatabase, resolveStoreProvider, watchDrops} from './drop.ts';
export type {DropDatabaseOptions, KVStoreOption} from './drop.ts';
export {DROP_CHANNEL, DropBus} from './drop-bus.ts';
export type {DropReason} from './drop-bus.ts';
export {REGISTRY_NAME, withRegistry} from './registry.ts';
export type {RegistryProvider} from './registry.ts';
