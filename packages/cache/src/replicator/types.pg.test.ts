import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {
  catchUp,
  pgClient,
  readReplicaTable,
  startReplicator,
  tempReplicaFile,
} from '../../test/replicator-helpers.ts';
import type {Replicator} from './replicator.ts';

const running: Replicator[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

const DDL = `
  CREATE TYPE mood AS ENUM ('sad', 'happy');
  CREATE TABLE t (
    id int8 PRIMARY KEY,
    s text, v varchar(10), c char(3), u uuid, e mood,
    i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric,
    b bool, j json, jb jsonb, ai int4[], at text[], a8 int8[],
    ts timestamp, tz timestamptz, d date, big text
  )`;

const ROW = `(9007199254740993, 'hé\tllo', 'var', 'abc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy',
  -3, 2147483647, -9223372036854775808, 1.5, 3.141592653589793, 12345.678,
  true, '{"a": [1, 2]}', '{"b": {"c": null}}', '{1,2,3}', '{"x y","q\\"z",NULL}', '{9007199254740993}',
  '2024-02-03 04:05:06.789', '2024-02-03 04:05:06.123456+02', '2024-02-29', repeat('x', 100000))`;

const EXPECTED = {
  id: '9007199254740993',
  s: 'hé\tllo',
  v: 'var',
  c: 'abc',
  u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  e: 'happy',
  i2: -3,
  i4: 2147483647,
  i8: '-9223372036854775808',
  f4: 1.5,
  f8: 3.141592653589793,
  n: 12345.678,
  b: true,
  j: {a: [1, 2]},
  jb: {b: {c: null}},
  ai: [1, 2, 3],
  at: ['x y', 'q"z', null],
  a8: [9007199254740992],
  ts: Date.UTC(2024, 1, 3, 4, 5, 6, 789),
  tz: Date.UTC(2024, 1, 3, 2, 5, 6, 123) + 0.456,
  d: Date.UTC(2024, 1, 29),
  big: 'x'.repeat(100000),
};

test('every mapped type round-trips through the copy and the stream, nulls too', async () => {
  const url = await createTestDatabase('types');
  const c = await pgClient(url);
  await c.query(DDL);
  await c.query(`INSERT INTO t VALUES ${ROW}`);
  await c.query(`INSERT INTO t (id) VALUES (1)`);
  const file = tempReplicaFile();
  const r = await startReplicator(url, file);
  running.push(r);
  const copied = readReplicaTable(file, 't');
  const nulls = Object.fromEntries(Object.keys(EXPECTED).map(k => [k, null]));
  expect(copied.find(x => x['id'] === 1)).toEqual({...nulls, id: 1});
  expect(copied.find(x => x['id'] !== 1)).toEqual(EXPECTED);

  // the same values through the stream
  await c.query(`DELETE FROM t`);
  await c.query(`INSERT INTO t VALUES ${ROW}`);
  await c.query(`INSERT INTO t (id) VALUES (1)`);
  await catchUp(c, r);
  const streamed = readReplicaTable(file, 't');
  expect(streamed.find(x => x['id'] === 1)).toEqual({...nulls, id: 1});
  expect(streamed.find(x => x['id'] !== 1)).toEqual(EXPECTED);

  // an update that leaves the TOASTed column alone keeps its value
  await c.query(`UPDATE t SET s = 'changed' WHERE id = 9007199254740993`);
  await catchUp(c, r);
  const toasted = readReplicaTable(file, 't').find(x => x['id'] !== 1)!;
  expect(toasted['s']).toBe('changed');
  expect(toasted['big']).toBe('x'.repeat(100000));
  // and a key change carries it along
  await c.query(`UPDATE t SET id = 5, i4 = 1 WHERE id = 9007199254740993`);
  await catchUp(c, r);
  const moved = readReplicaTable(file, 't').find(x => x['id'] === 5)!;
  expect(moved['big']).toBe('x'.repeat(100000));
  expect(readReplicaTable(file, 't').length).toBe(2);
  await c.end();
});
