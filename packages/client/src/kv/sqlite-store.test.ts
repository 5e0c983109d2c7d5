import {mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {afterAll, expect, test} from 'vitest';
import {sqliteStoreProvider} from './sqlite-store.ts';
import {runStoreContract} from './store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'zync-sqlite-store-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

runStoreContract('sqlite (better-sqlite3)', {
  persistent: true,
  makeProvider: () => sqliteStoreProvider({directory: dir}),
});

runStoreContract('sqlite (better-sqlite3, WAL)', {
  persistent: true,
  makeProvider: () => sqliteStoreProvider({directory: join(dir, 'wal'), journalMode: 'WAL'}),
});

test('sqlite: journal mode is DELETE by default, WAL on request; drop removes files', async () => {
  const d = join(dir, 'modes');
  for (const [mode, expected] of [
    [undefined, 'delete'],
    ['WAL', 'wal'],
  ] as const) {
    const p = sqliteStoreProvider(mode ? {directory: d, journalMode: mode} : {directory: d});
    const name = `zync/u/${expected}/h`;
    const s = p.create(name);
    const w = await s.write();
    await w.put('k', 1);
    await w.commit();
    await s.close();
    const files = readdirSync(d).filter(f => f.includes(expected));
    expect(files.length).toBeGreaterThan(0);
    const db = new Database(
      join(
        d,
        files.find(f => f.endsWith('.db'))!,
      ),
      {readonly: true},
    );
    expect(db.pragma('journal_mode', {simple: true})).toBe(expected);
    db.close();
    await p.drop(name);
    expect(readdirSync(d).filter(f => f.includes(expected))).toEqual([]);
  }
});
