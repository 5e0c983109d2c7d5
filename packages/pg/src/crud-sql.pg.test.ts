// The statements run as they are on both drivers, and inlined (as zero-cache batches them).
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {databaseWith, drivers, type Driver} from '../test/drivers.ts';
import {PgCatalog, type PgTable} from './catalog.ts';
import {deleteSql, insertSql, selectByKeySql, updateSql} from './crud-sql.ts';
import {PgLayerError} from './errors.ts';
import {inlineSql, run} from './sql.ts';
import {selectList} from './values.ts';

const DDL = `
  CREATE TABLE issue (id text PRIMARY KEY, title text NOT NULL, points int8 DEFAULT 1);
  CREATE TABLE pair (a int, b int, note text, PRIMARY KEY (a, b));
  CREATE TABLE tagged (id int, slug text UNIQUE, label text);
  CREATE TABLE counter (id serial PRIMARY KEY, n int DEFAULT 0);`;

describe.each(drivers)('CRUD statements on %s', (_name, open) => {
  let driver: Driver;
  const tables: Record<string, PgTable> = {};

  beforeAll(async () => {
    driver = open(await databaseWith(DDL, 'pglayer_crud'));
    const catalog = new PgCatalog();
    for (const n of ['issue', 'pair', 'tagged', 'counter']) {
      tables[n] = (await catalog.table(driver.db, n))!;
    }
  });
  afterAll(() => driver.end());

  const issue = () => tables['issue']!;
  const rows = async (table: string) =>
    (await driver.db.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows;

  test('insert returns the row as read, defaults included', async () => {
    const q = insertSql(issue(), {id: 'i1', title: 'A'}, {returning: selectList(issue())});
    expect(await run(driver.db, q)).toEqual([{id: 'i1', title: 'A', points: 1}]);
  });

  test('upsert updates the given columns of an existing row, or inserts', async () => {
    await run(driver.db, insertSql(issue(), {id: 'u1', title: 'x', points: 5}));
    await run(driver.db, insertSql(issue(), {id: 'u1', title: 'y'}, {upsert: true}));
    await run(driver.db, insertSql(issue(), {id: 'u2', title: 'z'}, {upsert: true}));
    const got = await driver.db.query(
      `SELECT id, title, points::int FROM issue WHERE id LIKE 'u%' ORDER BY id`,
    );
    expect(got.rows).toEqual([
      {id: 'u1', title: 'y', points: 5},
      {id: 'u2', title: 'z', points: 1},
    ]);
  });

  test('upsert with key columns only leaves an existing row alone', async () => {
    const pair = tables['pair']!;
    await run(driver.db, insertSql(pair, {a: 1, b: 2, note: 'kept'}));
    await run(driver.db, insertSql(pair, {a: 1, b: 2}, {upsert: true}));
    expect(await rows('pair')).toEqual([{a: 1, b: 2, note: 'kept'}]);
  });

  test('update sets non-key columns by key; nothing to set gives no statement', async () => {
    await run(driver.db, insertSql(issue(), {id: 'e1', title: 'old'}));
    const q = updateSql(issue(), {id: 'e1', title: 'new'}, {returning: 'title'});
    expect(await run(driver.db, q!)).toEqual([{title: 'new'}]);
    expect(updateSql(issue(), {id: 'e1'})).toBeUndefined();
    expect(updateSql(issue(), {id: 'e1', title: undefined})).toBeUndefined();
  });

  test('delete and select by a composite key', async () => {
    const pair = tables['pair']!;
    await run(driver.db, insertSql(pair, {a: 3, b: 4, note: 'n'}));
    const sel = selectByKeySql(pair, {a: 3, b: 4}, 'note', {forUpdate: true});
    expect(sel.text).toMatch(/ FOR UPDATE$/);
    expect(await run(driver.db, sel)).toEqual([{note: 'n'}]);
    await run(driver.db, deleteSql(pair, {a: 3, b: 4}));
    expect(await run(driver.db, sel)).toEqual([]);
  });

  test('a key given by the caller (a unique column) replaces the primary key', async () => {
    const tagged = tables['tagged']!;
    await run(driver.db, insertSql(tagged, {id: 1, slug: 's', label: 'one'}, {key: ['slug']}));
    await run(
      driver.db,
      insertSql(tagged, {id: 1, slug: 's', label: 'two'}, {key: ['slug'], upsert: true}),
    );
    await run(driver.db, updateSql(tagged, {slug: 's', id: 9}, {key: ['slug']})!);
    expect(await rows('tagged')).toEqual([{id: 9, slug: 's', label: 'two'}]);
    expect(() => deleteSql(tagged, {id: 9})).toThrow(/has no primary key/);
  });

  test('insert of no columns uses the defaults', async () => {
    const counter = tables['counter']!;
    expect(insertSql(counter, {}).text).toBe('INSERT INTO "public"."counter" DEFAULT VALUES');
    await run(driver.db, insertSql(counter, {}));
    expect(await rows('counter')).toEqual([{id: 1, n: 0}]);
  });

  test('requireRow: an update or delete of a missing row fails instead of doing nothing', async () => {
    const missing = {id: 'nobody', title: 't'};
    for (const q of [
      updateSql(issue(), missing, {requireRow: true})!,
      deleteSql(issue(), missing, {requireRow: true}),
    ]) {
      await expect(run(driver.db, q)).rejects.toMatchObject({code: '22012'});
      await expect(driver.db.query(inlineSql(q))).rejects.toMatchObject({code: '22012'});
    }
    await run(driver.db, insertSql(issue(), {id: 'r1', title: 't'}));
    await driver.db.query(
      inlineSql(updateSql(issue(), {id: 'r1', title: 'u'}, {requireRow: true})!),
    );
    await driver.db.query(inlineSql(deleteSql(issue(), {id: 'r1'}, {requireRow: true})));
    expect(await run(driver.db, selectByKeySql(issue(), {id: 'r1'}, 'id'))).toEqual([]);
  });

  test('a column the table lacks is refused before any SQL', () => {
    expect(() => insertSql(issue(), {id: 'x', nope: 1})).toThrow(PgLayerError);
    expect(() => insertSql(issue(), {id: 'x', nope: 1})).toThrow(
      'unknown column nope in table issue',
    );
  });
});
