import fc from 'fast-check';
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

// The recursive definition, without the flat-object fast path.
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    return `[${value.map(v => (v === undefined ? 'null' : reference(v))).join(',')}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter(k => obj[k] !== undefined)
    .sort();
  return `{${keys.map(k => `${JSON.stringify(k)}:${reference(obj[k])}`).join(',')}}`;
}

test('stableStringify of flat rows equals the recursive definition', () => {
  const value = fc.oneof(
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
  );
  fc.assert(
    fc.property(fc.dictionary(fc.string(), value), row => {
      expect(stableStringify(row)).toBe(reference(row));
    }),
    {numRuns: 500},
  );
  expect(stableStringify({b: -0, a: NaN, c: '\u2028"'})).toBe(
    reference({b: -0, a: NaN, c: '\u2028"'}),
  );
  expect(stableStringify({x: {b: 1, a: 2}})).toBe('{"x":{"a":2,"b":1}}');
});
