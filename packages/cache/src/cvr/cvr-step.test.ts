import {expect, test} from 'vitest';
import {sameRow} from './cvr-step.ts';

test('sameRow: same columns and the same JSON value in each, whatever the key order', () => {
  expect(sameRow({id: 1, t: 'a'}, {t: 'a', id: 1})).toBe(true);
  expect(sameRow({id: 1, j: {a: [1, null]}}, {id: 1, j: {a: [1, null]}})).toBe(true);
  // JSON writes NaN and the infinities as null.
  expect(sameRow({id: 1, n: Number.NaN}, {id: 1, n: Number.POSITIVE_INFINITY})).toBe(true);
  expect(sameRow({id: 1, t: 'a'}, {id: 1, t: 'b'})).toBe(false);
  expect(sameRow({id: 1, t: 'a'}, {id: 1})).toBe(false);
  expect(sameRow({id: 1}, {id: 1, t: null})).toBe(false);
  expect(sameRow({id: 1, t: null}, {id: 1, u: null})).toBe(false);
  expect(sameRow({id: 1, j: {a: 1}}, {id: 1, j: {a: 2}})).toBe(false);
  expect(sameRow({id: 1, j: null}, {id: 1, j: {}})).toBe(false);
  expect(sameRow({id: 1, n: 1}, {id: 1, n: '1'})).toBe(false);
});
