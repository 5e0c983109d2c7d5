// Node only: a StoreProvider on SQLite (better-sqlite3).
export {sqliteStoreProvider} from '@zync/client/sqlite';
