// expo-sqlite is not installed here: an object with its API shape, backed by
// better-sqlite3, stands in for the module.
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {afterAll, expect, test} from 'vitest';
import type {ExpoSQLiteDatabase, ExpoSQLiteModule} from './expo-sqlite-store.ts';
import {expoSQLiteStoreProvider} from './expo-sqlite-store.ts';
import type {SqlParam} from './sqlite-backend.ts';
import {runStoreContract} from './store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'zync-expo-store-'));
afterAll(() => rmSync(root, {recursive: true, force: true}));

function fakeExpoSQLite(defaultDir: string): ExpoSQLiteModule & {opened: string[]} {
  const opened: string[] = [];
  const path = (name: string, directory?: string) => {
    const d = directory ?? defaultDir;
    mkdirSync(d, {recursive: true});
    return join(d, name);
  };
  return {
    opened,
    openDatabaseSync(name: string, _options?: object, directory?: string): ExpoSQLiteDatabase {
      opened.push(name);
      const db = new Database(path(name, directory));
      return {
        execSync: (source: string) => void db.exec(source),
        runSync: (source: string, params: SqlParam[]) => db.prepare(source).run(...params),
        getAllSync: <T>(source: string, params: SqlParam[]) =>
          db.prepare(source).all(...params) as T[],
        closeSync: () => db.close(),
      };
    },
    deleteDatabaseSync(name: string, directory?: string) {
      const p = path(name, directory);
      if (!existsSync(p)) throw new Error(`Database not found: ${name}`);
      rmSync(p, {force: true});
    },
  };
}

const sqlite = fakeExpoSQLite(join(root, 'default'));

runStoreContract('expo-sqlite (API shape over better-sqlite3)', {
  persistent: true,
  makeProvider: () => expoSQLiteStoreProvider({sqlite}),
});

test('expo: uses the directory option and a safe file name', async () => {
  const fake = fakeExpoSQLite(join(root, 'unused'));
  const p = expoSQLiteStoreProvider({sqlite: fake, directory: join(root, 'custom')});
  const s = p.create('zync/a b/c/123');
  const w = await s.write();
  await w.put('k', 1);
  await w.commit();
  expect(fake.opened).toEqual(['zync%2Fa%20b%2Fc%2F123.db']);
  expect(existsSync(join(root, 'custom', 'zync%2Fa%20b%2Fc%2F123.db'))).toBe(true);
  await p.drop('zync/a b/c/123');
  expect(s.closed).toBe(true);
  expect(existsSync(join(root, 'custom', 'zync%2Fa%20b%2Fc%2F123.db'))).toBe(false);
});
