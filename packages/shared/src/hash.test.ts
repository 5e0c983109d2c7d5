import {expect, test} from 'vitest';
import {hashOf, hashString, stableStringify} from './hash.ts';

test('hashString is stable and distinguishes inputs', () => {
  expect(hashString('')).toBe('cbf29ce484222325');
  expect(hashString('a')).toBe('af63dc4c8601ec8c');
  expect(hashString('a')).not.toBe(hashString('b'));
  expect(hashString('a')).toMatch(/^[0-9a-f]{16}$/);
});

test('stableStringify sorts keys and drops undefined', () => {
  expect(stableStringify({b: 1, a: [1, {d: 2, c: undefined}]})).toBe('{"a":[1,{"d":2}],"b":1}');
  expect(hashOf({x: 1, y: 2})).toBe(hashOf({y: 2, x: 1}));
});
