// Values written through `writeExpr` and read back through `selectList`/`fromPgRow` come
// back as the client sent them, with node-postgres and postgres.js alike.
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {databaseWith, drivers, type Driver} from '../test/drivers.ts';
import {PgCatalog, type PgTable} from './catalog.ts';
import {insertSql, selectByKeySql} from './crud-sql.ts';
import {run} from './sql.ts';
import {fromPgRow, selectList} from './values.ts';

const DDL = `
  CREATE DOMAIN stamp AS timestamptz;
  CREATE TYPE mood AS ENUM ('ok', 'sad');
  CREATE TABLE v (
    id int PRIMARY KEY, t text, vc varchar(5), b bool, i4 int4, i8 int8, num numeric(10, 2),
    f8 float8, ts timestamp, tstz timestamptz, d date, dom stamp, j json, jb jsonb,
    arr text[], iarr int4[], m mood, u uuid);`;

const at = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const written = {
  t: `it's a \\ "test" ✓ $1`,
  vc: 'abcde',
  b: true,
  i4: -7,
  i8: 9007199254740,
  num: 12.5,
  f8: 0.1,
  ts: at,
  tstz: at + 0.25, // sub-millisecond: kept to the microsecond
  d: Date.UTC(2024, 5, 30),
  dom: at,
  j: {a: [1, 'x', null]},
  jb: ['nested', {k: true}],
  arr: ['a,b', '{c}', 'NULL', '"q"', 'back\\slash', null],
  iarr: [1, 2, 3],
  m: 'sad',
  u: '6f1d8a52-2c4b-4f5e-9a53-3d1f1c0e7b10',
};

describe.each(drivers)('values through %s', (_name, open) => {
  let driver: Driver;
  let table: PgTable;

  beforeAll(async () => {
    driver = open(await databaseWith(DDL, 'pglayer_values'));
    table = (await new PgCatalog().table(driver.db, 'v'))!;
  });
  afterAll(() => driver.end());

  const read = async (id: number) => {
    const rows = await run(driver.db, selectByKeySql(table, {id}, selectList(table)));
    return rows[0] && fromPgRow(table, rows[0]);
  };

  test('every type comes back in the shape it was written', async () => {
    await run(driver.db, insertSql(table, {id: 1, ...written}));
    expect(await read(1)).toEqual({id: 1, ...written});
  });

  test('a date takes the UTC day of the instant; time strings are read by Postgres', async () => {
    await run(
      driver.db,
      insertSql(table, {
        id: 2,
        d: Date.UTC(2024, 5, 30, 23, 59),
        tstz: '2024-01-02T04:04:05.678+01:00',
        ts: '2024-01-02 03:04:05.678',
      }),
    );
    expect(await read(2)).toMatchObject({d: Date.UTC(2024, 5, 30), tstz: at, ts: at});
  });

  test('nulls and absent columns read as null', async () => {
    await run(driver.db, insertSql(table, {id: 3, t: null, b: undefined}));
    const row = await read(3);
    expect(Object.entries(row!).filter(([k, v]) => k !== 'id' && v !== null)).toEqual([]);
  });

  test('modifiers are the column’s: too long for varchar(5) is refused, not cut', async () => {
    await expect(run(driver.db, insertSql(table, {id: 4, vc: 'abcdef'}))).rejects.toMatchObject({
      code: '22001',
    });
    await run(driver.db, insertSql(table, {id: 5, num: 1.234}));
    expect(await read(5)).toMatchObject({num: 1.23});
  });
});
