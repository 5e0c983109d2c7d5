// The change log's row operations survive encoding exactly, and anything else is refused.
import {serialize} from 'node:v8';
import {expect, test} from 'vitest';
import {decodeRowOps, encodeRowOps, RowOpsError, type RowOp} from './row-ops.ts';

test('row operations round-trip exactly, bigint and float included', () => {
  const ops: RowOp[] = [
    {
      op: 'set',
      table: 't',
      columns: ['id', 'v', 'f', 'n'],
      values: [2n ** 63n - 1n, 'x', 0.1, null],
    },
    {op: 'del', table: 't', columns: ['id'], values: [-9007199254740993n]},
    {op: 'truncate', table: 'u'},
  ];
  expect(decodeRowOps(encodeRowOps(ops))).toEqual(ops);
  expect(decodeRowOps(encodeRowOps([]))).toEqual([]);
});

test.each([
  ['not v8 data', Buffer.from('hello')],
  ['not a list', serialize({op: 'truncate', table: 't'})],
  ['an unknown op', serialize([{op: 'upsert', table: 't'}])],
  ['no table', serialize([{op: 'truncate'}])],
  ['values not matching columns', serialize([{op: 'set', table: 't', columns: ['a'], values: []}])],
  ['no columns', serialize([{op: 'del', table: 't', columns: [], values: []}])],
  ['an object value', serialize([{op: 'set', table: 't', columns: ['a'], values: [{}]}])],
  [
    'a buffer value',
    serialize([{op: 'set', table: 't', columns: ['a'], values: [Buffer.from('x')]}]),
  ],
])('%s is refused with a RowOpsError', (_what, bytes) => {
  expect(() => decodeRowOps(bytes)).toThrow(RowOpsError);
  expect(() => decodeRowOps(bytes)).toThrow(/change-log entry/);
});
