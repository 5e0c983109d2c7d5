// Node entry (`zync/sqlite`): a StoreProvider on better-sqlite3, one file per database.
// Never imported by the browser entry.
import Database from 'better-sqlite3';
import {mkdirSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import type {StoreProvider} from './store.ts';
import type {SqlConnection, SqlParam, SQLiteStoreOptions} from './sqlite-backend.ts';
import {safeFilename, sqliteProviderOver} from './sqlite-backend.ts';

export type {SQLiteStoreOptions} from './sqlite-backend.ts';

export type NodeSQLiteStoreOptions = SQLiteStoreOptions & {
  /** Directory of the database files; created if missing. Default: `.zync` in the cwd. */
  directory?: string;
};

export function sqliteStoreProvider(options: NodeSQLiteStoreOptions = {}): StoreProvider {
  const dir = options.directory ?? join(process.cwd(), '.zync');
  const file = (name: string) => join(dir, `${safeFilename(name)}.db`);
  const provider = sqliteProviderOver(
    name => {
      mkdirSync(dir, {recursive: true});
      return betterSqliteConnection(new Database(file(name)));
    },
    name => {
      for (const suffix of ['', '-wal', '-shm', '-journal']) {
        rmSync(file(name) + suffix, {force: true});
      }
    },
    options,
  );
  return provider;
}

function betterSqliteConnection(db: Database.Database): SqlConnection {
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  return {
    exec: sql => void db.exec(sql),
    run: (sql, params: readonly SqlParam[]) => void prepare(sql).run(...params),
    all: (sql, params: readonly SqlParam[]) =>
      prepare(sql).all(...params) as Record<string, unknown>[],
    close: () => db.close(),
  };
}
