// `Zero` over `zync/sqlite`'s store on Node: data and pending mutations survive a reopen,
// users get separate files, and dropAllDatabases/delete remove them.
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, expect, test} from 'vitest';
import {createSchema, dropAllDatabases, number, string, table, Zero} from 'zync';
import {sqliteStoreProvider} from 'zync/sqlite';

const schema = createSchema({
  tables: [
    table('issue').columns({id: string(), title: string(), rank: number()}).primaryKey('id'),
  ],
});

const dir = mkdtempSync(join(tmpdir(), 'zync-zero-sqlite-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

const fileOf = (name: string) => join(dir, `${encodeURIComponent(name)}.db`);

function open(userID: string, provider = sqliteStoreProvider({directory: dir})) {
  return new Zero({server: null, userID, schema, kvStore: provider});
}

test('rows written by one instance are there when another process-level provider reopens', async () => {
  const a = open('alice');
  for (let i = 0; i < 20; i++) {
    await a.mutate.issue.insert({id: `i${i}`, title: `t${i}`, rank: i}).client;
  }
  await a.close();
  expect(existsSync(fileOf(a.idbName))).toBe(true);

  // A fresh provider (as after a restart) reads the file back.
  const again = open('alice');
  const rows = (await again.run(again.query.issue.orderBy('rank', 'asc'))) as {id: string}[];
  expect(rows.map(r => r.id)).toEqual(Array.from({length: 20}, (_, i) => `i${i}`));
  await again.close();

  const bob = open('bob');
  expect(bob.idbName).not.toBe(a.idbName);
  expect(await bob.run(bob.query.issue)).toEqual([]);
  await bob.mutate.issue.insert({id: 'b', title: 'bob', rank: 0}).client;
  await bob.close();
  expect(existsSync(fileOf(bob.idbName))).toBe(true);
});

test('delete() drops only its own file; dropAllDatabases drops the rest', async () => {
  const provider = sqliteStoreProvider({directory: dir});
  const a = open('alice', provider);
  const b = open('bob', provider);
  await Promise.all([a.clientGroupID, b.clientGroupID]);
  expect(await a.delete()).toEqual({deleted: [a.idbName], errors: []});
  expect(existsSync(fileOf(a.idbName))).toBe(false);
  expect(existsSync(fileOf(b.idbName))).toBe(true);
  await b.close();

  const {dropped, errors} = await dropAllDatabases({kvStore: provider});
  expect(errors).toEqual([]);
  expect(dropped).toEqual([b.idbName]);
  expect(readdirSync(dir).filter(f => f.startsWith('zync%2F') && !f.includes('registry'))).toEqual(
    [],
  );
});
