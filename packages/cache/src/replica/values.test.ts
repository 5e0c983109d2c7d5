import {expect, test} from 'vitest';
import {unescapeCopy} from '../replicator/copy-text-parser.ts';
import {CopyTextParser} from '../replicator/copy-text-parser.ts';
import {fromReplicaValue} from './open-replica.ts';
import {parseTimestampMs, pgArrayToJson, streamConverter} from './values.ts';

test('timestamps parse as epoch ms, UTC without a zone, microseconds as the fraction', () => {
  expect(parseTimestampMs('2024-02-03 04:05:06')).toBe(Date.UTC(2024, 1, 3, 4, 5, 6));
  expect(parseTimestampMs('2024-02-03 04:05:06.5+05:30')).toBe(
    Date.UTC(2024, 1, 2, 22, 35, 6, 500),
  );
  expect(parseTimestampMs('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
  expect(parseTimestampMs('1969-12-31 23:59:59.9985+00')).toBe(-1.5);
  expect(parseTimestampMs('0044-03-15 BC')).toBe(new Date('-000043-03-15T00:00:00Z').getTime());
  expect(parseTimestampMs('0099-01-01')).toBe(new Date('0099-01-01T00:00:00Z').getTime());
  expect(parseTimestampMs('infinity')).toBe(Infinity);
});

test('arrays become JSON typed by element', () => {
  expect(pgArrayToJson('{1,2,NULL}', 'int4')).toBe('[1,2,null]');
  expect(pgArrayToJson('{{1,2},{3,4}}', 'int8')).toBe('[[1,2],[3,4]]');
  expect(pgArrayToJson('{"a b","NULL",NULL,"q\\\\\\"z"}', 'text')).toBe(
    '["a b","NULL",null,"q\\\\\\"z"]',
  );
  expect(pgArrayToJson('{t,f}', 'bool')).toBe('[true,false]');
  expect(pgArrayToJson('[0:1]={5,6}', 'int4')).toBe('[5,6]');
  expect(pgArrayToJson('{}', 'text')).toBe('[]');
  expect(JSON.parse(pgArrayToJson('{"{\\"a\\": 1}"}', 'jsonb'))).toEqual([{a: 1}]);
});

test('int8 keeps precision beyond 2^53 and reads back per mode', () => {
  const conv = streamConverter('int8');
  expect(conv('42')).toBe(42);
  expect(conv('9007199254740993')).toBe(9007199254740993n);
  expect(fromReplicaValue('number', 9007199254740993n, 'string')).toBe('9007199254740993');
  expect(fromReplicaValue('number', 9007199254740993n, 'bigint')).toBe(9007199254740993n);
  expect(fromReplicaValue('number', 5n)).toBe(5);
  expect(fromReplicaValue('boolean', 0)).toBe(false);
  expect(fromReplicaValue('json', '{"a":[1]}')).toEqual({a: [1]});
});

test('COPY text parsing handles escapes, nulls and rows split across chunks', () => {
  expect(unescapeCopy('a\\tb\\nc\\\\d')).toBe('a\tb\nc\\d');
  const rows: unknown[][] = [];
  const p = new CopyTextParser([s => s, s => Number(s)], r => rows.push(r));
  const data = Buffer.from('x\\ty\t1\n\\N\t2\nhé\t\\N\n');
  // split inside the multi-byte é and inside a row
  p.push(data.subarray(0, 12));
  p.push(data.subarray(12, 17));
  p.push(data.subarray(17));
  p.end();
  expect(rows).toEqual([
    ['x\ty', 1],
    [null, 2],
    ['hé', null],
  ]);
});
