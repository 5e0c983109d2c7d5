import {expect, test} from 'vitest';
import type {PgColumn, PgTable} from './catalog.ts';
import {PgLayerError} from './errors.ts';
import {readExpr, writeExpr} from './values.ts';

const col = (name: string, typname: string, sqlType = typname): PgColumn => ({
  name,
  typname,
  sqlType,
});
const columns = [
  col('tags', '_text', 'text[]'),
  col('at', 'timestamptz', 'timestamp with time zone'),
  col('day', 'date'),
  col('title', 'text'),
  col('done', 'bool', 'boolean'),
  col('n', 'int4', 'integer'),
  col('meta', 'jsonb'),
];
const table: PgTable = {
  schema: 'public',
  name: 'issue',
  sqlName: '"public"."issue"',
  isTable: true,
  columns: new Map(columns.map(c => [c.name, c])),
  primaryKey: ['title'],
};
const column = (name: string) => table.columns.get(name)!;

test.each([
  ['tags', 'x', 'an array'],
  ['tags', {a: 1}, 'an array'],
  ['at', true, 'epoch milliseconds'],
  ['at', Number.NaN, 'epoch milliseconds'],
  ['at', Infinity, 'epoch milliseconds'],
  ['at', 8.64e15 + 1, 'epoch milliseconds'],
  ['day', {}, 'epoch milliseconds'],
  ['title', {a: 1}, 'a scalar'],
  ['title', ['a'], 'a scalar'],
  ['done', 'true', 'a boolean'],
  ['done', 1, 'a boolean'],
  ['n', true, 'a number'],
  ['n', {}, 'a scalar'],
])('%s = %j is refused: must be %s', (name, value, need) => {
  let err: unknown;
  try {
    writeExpr(table, column(name), value);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PgLayerError);
  expect(err).toMatchObject({kind: 'invalid-value', need});
  expect((err as Error).message).toBe(
    `the value for column ${name} of table issue must be ${need}`,
  );
});

test('every value is one text parameter, cast to the column type without modifiers', () => {
  const q = (name: string, v: unknown) => {
    const s = writeExpr(table, column(name), v);
    return [s.text, s.values];
  };
  expect(q('title', 'a')).toEqual(['$1::text::text', ['a']]);
  expect(q('n', 5)).toEqual(['$1::text::integer', ['5']]);
  expect(q('n', '5')).toEqual(['$1::text::integer', ['5']]);
  expect(q('done', false)).toEqual(['$1::text::boolean', ['false']]);
  expect(q('meta', {a: [1]})).toEqual(['$1::text::jsonb', ['{"a":[1]}']]);
  expect(q('meta', 'str')).toEqual(['$1::text::jsonb', ['"str"']]);
  expect(q('tags', ['a', null])).toEqual([
    'ARRAY(SELECT jsonb_array_elements_text($1::text::jsonb))::text[]',
    ['["a",null]'],
  ]);
  expect(q('at', 1500)).toEqual(['to_timestamp($1::text::float8 / 1000)', ['1500']]);
  expect(q('at', '2024-01-01T00:00:00Z')).toEqual([
    '$1::text::timestamp with time zone',
    ['2024-01-01T00:00:00Z'],
  ]);
  expect(q('title', null)).toEqual(['NULL', []]);
});

test('readExpr gives the client shape: times as epoch ms, int8/numeric as float8, arrays as JSON', () => {
  expect(readExpr('x', col('x', 'timestamptz'))).toBe('(EXTRACT(EPOCH FROM x) * 1000)::float8');
  expect(readExpr('x', col('x', 'date'))).toBe('(EXTRACT(EPOCH FROM x::timestamp) * 1000)::float8');
  expect(readExpr('x', col('x', 'int8'))).toBe('x::float8');
  expect(readExpr('x', col('x', '_int4'))).toBe('to_jsonb(x)');
  expect(readExpr('x', col('x', 'text'))).toBe('x');
  expect(readExpr('x', undefined)).toBe('x');
});
