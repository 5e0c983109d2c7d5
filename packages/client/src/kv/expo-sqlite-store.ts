// React Native entry (`zync/react-native`): the SQLite store over expo-sqlite.
//
// Uses expo-sqlite's synchronous API (SDK 51+): `openDatabaseSync(name, options?,
// directory?)`, `deleteDatabaseSync(name, directory?)`, and on the database `execSync`,
// `runSync(sql, params)`, `getAllSync(sql, params)`, `closeSync()`. The module is passed in
// (`options.sqlite`) or loaded with a dynamic `import('expo-sqlite')` on first open, so that
// this file loads in Node (tests) without expo-sqlite installed.
import type {Read, Store, StoreProvider, Write} from './store.ts';
import {StoreClosedError} from './store.ts';
import type {SqlConnection, SqlParam, SQLiteStoreOptions} from './sqlite-backend.ts';
import {safeFilename, sqliteProviderOver} from './sqlite-backend.ts';

/** The part of expo-sqlite's `SQLiteDatabase` that we use. */
export interface ExpoSQLiteDatabase {
  execSync(source: string): void;
  runSync(source: string, params: SqlParam[]): unknown;
  getAllSync<T>(source: string, params: SqlParam[]): T[];
  closeSync(): void;
}

/** The part of the `expo-sqlite` module that we use. */
export interface ExpoSQLiteModule {
  openDatabaseSync(databaseName: string, options?: object, directory?: string): ExpoSQLiteDatabase;
  deleteDatabaseSync(databaseName: string, directory?: string): void;
}

export type ExpoSQLiteStoreOptions = SQLiteStoreOptions & {
  /** The expo-sqlite module; default: `import('expo-sqlite')` on first use. */
  sqlite?: ExpoSQLiteModule;
  /** expo-sqlite's `directory` argument; default: its own default directory. */
  directory?: string;
};

export function expoSQLiteStoreProvider(options: ExpoSQLiteStoreOptions = {}): StoreProvider {
  let mod: Promise<ExpoSQLiteModule> | undefined;
  const load = () => (mod ??= options.sqlite ? Promise.resolve(options.sqlite) : importExpo());
  const file = (name: string) => `${safeFilename(name)}.db`;
  const dirArgs = options.directory === undefined ? [] : [options.directory];
  // The provider core opens synchronously; the module load is awaited once per open.
  let loaded: ExpoSQLiteModule | undefined = options.sqlite;
  const core = sqliteProviderOver(
    name => {
      if (!loaded) throw new Error('expo-sqlite is not loaded');
      return expoConnection(loaded.openDatabaseSync(file(name), {}, ...dirArgs));
    },
    async name => {
      const m = await load();
      try {
        m.deleteDatabaseSync(file(name), ...dirArgs);
      } catch (e) {
        // expo-sqlite throws DatabaseNotFoundException for a missing file; dropping a
        // database that was never written is not an error.
        if (!(e instanceof Error && /not found|does not exist/i.test(e.message))) throw e;
      }
    },
    options,
  );
  return {
    create: name => {
      if (loaded) return core.create(name);
      return deferredStore(
        load().then(m => {
          loaded = m;
        }),
        () => core.create(name),
      );
    },
    drop: name => core.drop(name),
  };
}

async function importExpo(): Promise<ExpoSQLiteModule> {
  // A literal specifier so that Metro bundles it; not installed in this repository.
  // eslint-disable-next-line @typescript-eslint/ban-ts-comment
  // @ts-ignore expo-sqlite is an optional peer dependency
  const mod: unknown = await import('expo-sqlite');
  return mod as ExpoSQLiteModule;
}

function expoConnection(db: ExpoSQLiteDatabase): SqlConnection {
  return {
    exec: sql => db.execSync(sql),
    run: (sql, params) => void db.runSync(sql, [...params]),
    all: (sql, params) => db.getAllSync<Record<string, unknown>>(sql, [...params]),
    close: () => db.closeSync(),
  };
}

/** A store whose real store is created once `ready` resolves. */
function deferredStore(ready: Promise<void>, make: () => Store): Store {
  let inner: Store | undefined;
  let closed = false;
  const get = async (): Promise<Store> => {
    if (closed) throw new StoreClosedError('store-closed');
    await ready;
    if (closed) throw new StoreClosedError('store-closed');
    return (inner ??= make());
  };
  return {
    get closed() {
      return closed || (inner?.closed ?? false);
    },
    read: async (): Promise<Read> => (await get()).read(),
    write: async (): Promise<Write> => (await get()).write(),
    close: async () => {
      closed = true;
      await ready.catch(() => {});
      await inner?.close();
    },
  };
}
