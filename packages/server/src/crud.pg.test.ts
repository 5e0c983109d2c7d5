// tx.mutate and tx.query on column types the shared fixture lacks, on both adapters: the
// value rules are @zync/pg's, the same as zero-cache's CRUD path.
import pg from 'pg';
import postgres from 'postgres';
import {boolean, createSchema, json, number, string, table} from '@zync/zql';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {createTestDatabase} from '../../../test/pg.ts';
import {zeroNodePg} from './adapters/node-pg.ts';
import {zeroPostgresJS} from './adapters/postgres-js.ts';
import type {ZQLDatabase} from './zql-database.ts';

const item = table('item')
  .columns({
    id: string(),
    code: string().optional(),
    at: number().optional(),
    done: boolean().optional(),
    tags: json<string[]>().optional(),
  })
  .primaryKey('id');
const schema = createSchema({tables: [item]});

const DDL = `
  CREATE DOMAIN stamp AS timestamptz;
  CREATE TABLE item (id text PRIMARY KEY, code varchar(3), at stamp, done bool, tags text[]);`;

type DB = ZQLDatabase<typeof schema, unknown>;

const adapters: [string, (url: string) => {db: DB; end: () => Promise<void>}][] = [
  [
    'pg',
    url => {
      const pool = new pg.Pool({connectionString: url});
      return {db: zeroNodePg(schema, pool), end: () => pool.end()};
    },
  ],
  [
    'postgres.js',
    url => {
      const sql = postgres(url, {onnotice: () => {}});
      return {db: zeroPostgresJS(schema, sql), end: () => sql.end()};
    },
  ],
];

describe.each(adapters)('tx.mutate on %s', (_name, make) => {
  let db: DB;
  let end: () => Promise<void>;

  beforeAll(async () => {
    const url = await createTestDatabase('server_crud');
    const admin = new pg.Client({connectionString: url});
    await admin.connect();
    await admin.query(DDL);
    await admin.end();
    ({db, end} = make(url));
  });
  afterAll(() => end());

  test('a domain over timestamptz takes and gives epoch ms', async () => {
    const at = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    await db.transaction(tx => tx.mutate.item.insert({id: 'd1', at, tags: ['a', 'b']}));
    const row = await db.transaction(tx => tx.query.item.where('id', 'd1').one().run());
    expect(row).toMatchObject({id: 'd1', at, tags: ['a', 'b'], done: null});
  });

  test('a string too long for varchar(n) is refused, not cut', async () => {
    await expect(
      db.transaction(tx => tx.mutate.item.insert({id: 'v1', code: 'abcd'})),
    ).rejects.toMatchObject({code: '22001'});
    await db.transaction(tx => tx.mutate.item.insert({id: 'v2', code: 'abc'}));
    expect(await db.transaction(tx => tx.query.item.where('id', 'v2').one().run())).toMatchObject({
      code: 'abc',
    });
  });

  test('values of the wrong shape are refused before any SQL, naming what is expected', async () => {
    const insert = (value: Record<string, unknown>) =>
      db.transaction(tx => tx.mutate.item.insert({id: 'w', ...value}));
    await expect(insert({tags: 'x'})).rejects.toThrow('an array column needs a JSON array');
    await expect(insert({code: {a: 1}})).rejects.toThrow(
      'only json and array columns take objects or arrays',
    );
    await expect(insert({done: 'yes'})).rejects.toThrow(
      'the value for column done of table item must be a boolean',
    );
    await expect(insert({at: true})).rejects.toThrow(
      'the value for column at of table item must be epoch milliseconds',
    );
    expect(await db.transaction(tx => tx.query.item.where('id', 'w').run())).toEqual([]);
  });
});
