import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {databaseWith} from '../test/drivers.ts';
import {PgCatalog, readTable} from './catalog.ts';

let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({
    connectionString: await databaseWith(
      `CREATE DOMAIN tags AS text[];
       CREATE DOMAIN stamp AS timestamptz;
       CREATE SCHEMA other;
       CREATE TABLE item (
         b text, a int4, name varchar(20), price numeric(10, 2), labels tags, at stamp,
         flags bit(3), code char(2), PRIMARY KEY (b, a));
       ALTER TABLE item DROP COLUMN code;
       CREATE TABLE other.item (id int PRIMARY KEY);
       CREATE TABLE nokey (x int);
       CREATE VIEW item_view AS SELECT a, name FROM item;`,
      'pglayer_catalog',
    ),
  });
});
afterAll(() => pool.end());

test('columns in order with base type names and unmodified SQL types; the key in key order', async () => {
  const t = await readTable(pool, 'public', 'item');
  expect(t).toMatchObject({
    schema: 'public',
    name: 'item',
    sqlName: '"public"."item"',
    isTable: true,
    primaryKey: ['b', 'a'],
  });
  expect([...t!.columns.values()]).toEqual([
    {name: 'b', typname: 'text', sqlType: 'text'},
    {name: 'a', typname: 'int4', sqlType: 'integer'},
    {name: 'name', typname: 'varchar', sqlType: 'character varying'},
    {name: 'price', typname: 'numeric', sqlType: 'numeric'},
    {name: 'labels', typname: '_text', sqlType: 'tags'},
    {name: 'at', typname: 'timestamptz', sqlType: 'stamp'},
    {name: 'flags', typname: 'bit', sqlType: '"bit"'},
  ]);
});

test('another schema, a table without key, a view, and nothing', async () => {
  expect((await readTable(pool, 'other', 'item'))?.sqlName).toBe('"other"."item"');
  expect((await readTable(pool, 'public', 'nokey'))?.primaryKey).toEqual([]);
  expect(await readTable(pool, 'public', 'item_view')).toMatchObject({isTable: false});
  expect(await readTable(pool, 'public', 'missing')).toBeUndefined();
  expect(await readTable(pool, 'public', 'other.item')).toBeUndefined();
});

test('PgCatalog keeps what it read until asked to refresh', async () => {
  const catalog = new PgCatalog();
  await pool.query('CREATE TABLE grows (id int PRIMARY KEY)');
  const first = await catalog.table(pool, 'grows');
  expect(catalog.cached('grows')).toBe(first);
  await pool.query('ALTER TABLE grows ADD COLUMN extra text');
  expect((await catalog.table(pool, 'grows'))?.columns.has('extra')).toBe(false);
  expect((await catalog.table(pool, 'grows', {refresh: true}))?.columns.has('extra')).toBe(true);
  await pool.query('DROP TABLE grows');
  expect(await catalog.table(pool, 'grows', {refresh: true})).toBeUndefined();
  expect(catalog.cached('grows')).toBeUndefined();
});

test('PgCatalog: schema per lookup; tablesOnly hides views', async () => {
  const any = new PgCatalog();
  const tables = new PgCatalog({tablesOnly: true});
  expect((await any.table(pool, 'item', {schema: 'other'}))?.columns.has('id')).toBe(true);
  expect(any.cached('item', 'other')?.schema).toBe('other');
  expect(any.cached('item')).toBeUndefined();
  expect((await any.table(pool, 'item_view'))?.isTable).toBe(false);
  expect(await tables.table(pool, 'item_view')).toBeUndefined();
  expect(await tables.table(pool, 'item')).toBeDefined();
});
