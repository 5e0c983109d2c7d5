// An app that turns the legacy API off in its schema file: zero-cache refuses its clients'
// raw ZQL queries and CRUD mutations with a clear error.
import {mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {legacyAPI, loadPermissionsHooks} from '@zync/cache';
import {Zero} from '@zync/client';
import {createSchema, string, table} from '@zync/zql';
import {createLogger} from '@zync/shared';
import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import {startZeroCache, type StartedZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [table('issue').columns({id: string(), title: string()}).primaryKey('id')],
});
const dir = mkdtempSync(join(tmpdir(), 'zync-legacy-'));
symlinkSync(resolve(import.meta.dirname, '../../node_modules'), join(dir, 'node_modules'));

let zc: StartedZeroCache;
const zeros: Zero<typeof schema>[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('e2e_legacy');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL);
    INSERT INTO issue VALUES ('i1', 'alpha');`);
  await db.end();
  const file = join(dir, 'schema.ts');
  writeFileSync(
    file,
    `import {createSchema, string, table} from 'zync';
const base = createSchema({
  tables: [table('issue').columns({id: string(), title: string()}).primaryKey('id')],
});
export const schema = {...base, enableLegacyQueries: false, enableLegacyMutators: false};
`,
  );
  const lc = createLogger('error', () => {});
  const perms = await loadPermissionsHooks({schemaPath: file} as never, lc);
  const legacy = legacyAPI(undefined, perms.loaded?.schema);
  expect(legacy).toEqual({queries: false, mutators: false});
  zc = await startZeroCache(url, {hooks: {legacy}});
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  rmSync(dir, {recursive: true, force: true});
});

test('raw queries and CRUD mutations are refused with a clear error', async () => {
  const z = new Zero({server: zc.url, userID: 'u1', schema, kvStore: 'mem' as const});
  zeros.push(z);
  await expect(z.run(z.query.issue, {type: 'complete'})).rejects.toThrow(
    /Raw ZQL queries are turned off/,
  );
  const out = await z.mutate.issue.insert({id: 'i2', title: 'beta'}).server;
  expect(out).toMatchObject({type: 'error', error: {message: /CRUD mutations are turned off/}});
});

test('absent flags leave the legacy API on; the setting can only turn it off', () => {
  expect(legacyAPI(undefined, schema)).toEqual({queries: true, mutators: true});
  expect(legacyAPI(false, schema)).toEqual({queries: false, mutators: false});
  expect(legacyAPI(true, {enableLegacyMutators: false})).toEqual({
    queries: true,
    mutators: false,
  });
  expect(legacyAPI(undefined, {enableLegacyQueries: 'no'})).toEqual({
    queries: true,
    mutators: true,
  });
});
