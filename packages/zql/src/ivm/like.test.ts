import {describe, expect, test} from 'vitest';
import fc from 'fast-check';
import type {SimpleOperator} from '@zync/protocol';
import {compareValues} from '../permissions/evaluate.ts';
import {compileRowPredicate, evalSimple} from './condition.ts';
import {likeMatches} from './like.ts';

/**
 * A reference matcher by dynamic programming over code points: obviously correct, too slow
 * for production (it always fills the whole table), used as the oracle.
 */
function reference(value: string, pattern: string, ci: boolean): boolean {
  type Tok = {any: true} | {any: false; one: boolean; cp: number};
  const toks: Tok[] = [];
  const pcs = [...pattern];
  for (let i = 0; i < pcs.length; i++) {
    const c = pcs[i]!;
    if (c === '\\' && i + 1 < pcs.length) toks.push({any: false, one: false, cp: cp(pcs[++i]!)});
    else if (c === '%') toks.push({any: true});
    else if (c === '_') toks.push({any: false, one: true, cp: 0});
    else toks.push({any: false, one: false, cp: cp(c)});
  }
  const fold = (c: string): string => (ci ? c.toUpperCase().toLowerCase() : c);
  const vs = [...value];
  // ok[j] = the first i value chars match the first j tokens.
  let ok = toks.map(() => false);
  ok = [true, ...ok];
  for (let j = 1; j <= toks.length; j++) ok[j] = ok[j - 1]! && toks[j - 1]!.any;
  for (const v of vs) {
    const next = [false];
    for (let j = 1; j <= toks.length; j++) {
      const t = toks[j - 1]!;
      if (t.any) next[j] = next[j - 1]! || ok[j]!;
      else {
        const same = t.one || fold(String.fromCodePoint(t.cp)) === fold(v);
        next[j] = ok[j - 1]! && same;
      }
    }
    ok = next;
  }
  return ok[toks.length]!;
}

function cp(c: string): number {
  return c.codePointAt(0)!;
}

/**
 * Runs `fn`, counting reads of string characters by code point or code unit: the LIKE
 * matcher's steps, the same on any machine.
 */
function countReads<T>(fn: () => T): {result: T; reads: number} {
  const proto = String.prototype;
  const codePointAt = Object.getOwnPropertyDescriptor(proto, 'codePointAt')?.value as (
    this: string,
    i: number,
  ) => number | undefined;
  const charCodeAt = Object.getOwnPropertyDescriptor(proto, 'charCodeAt')?.value as (
    this: string,
    i: number,
  ) => number;
  let reads = 0;
  proto.codePointAt = function (this: string, i: number) {
    reads++;
    return codePointAt.call(this, i);
  };
  proto.charCodeAt = function (this: string, i: number) {
    reads++;
    return charCodeAt.call(this, i);
  };
  try {
    const result = fn();
    return {result, reads};
  } finally {
    proto.codePointAt = codePointAt;
    proto.charCodeAt = charCodeAt;
  }
}

/** LIKE through the three places that evaluate it. */
function everywhere(value: string, pattern: string, op: SimpleOperator): boolean[] {
  const compiled = compileRowPredicate({
    kind: 'simple',
    op,
    left: {kind: 'column', name: 'v'},
    right: {kind: 'literal', value: pattern},
  });
  return [compiled({v: value}), evalSimple(op, value, pattern), compareValues(op, value, pattern)];
}

describe('LIKE / ILIKE matching', () => {
  test.each([
    ['abc', 'abc', true],
    ['abc', 'a%', true],
    ['abc', '%c', true],
    ['abc', '%b%', true],
    ['abc', 'a_c', true],
    ['abc', 'a_', false],
    ['', '%', true],
    ['', '_', false],
    ['a%c', 'a\\%c', true],
    ['abc', 'a\\%c', false],
    ['a_c', 'a\\_c', true],
    ['abc', 'a\\_c', false],
    ['a\\c', 'a\\\\c', true],
    ['a\\', 'a\\', true],
    ['ab', 'AB', false],
    ['😀x', '_x', true],
    ['😀x', '__x', false],
    ['x-y', 'x-y', true],
    ['x-y', '%-%', true],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false],
    ['(a)[b]{c}^$|+*?', '(a)[b]{c}^$|+*?', true],
  ])('%j LIKE %j is %s everywhere', (value, pattern, want) => {
    expect(everywhere(value, pattern, 'LIKE')).toEqual([want, want, want]);
    expect(everywhere(value, pattern, 'NOT LIKE')).toEqual([!want, !want, !want]);
  });

  test.each([
    ['ABC', 'abc', true],
    ['Straße', 'STRASSE', false],
    ['ÉCOLE', 'école', true],
    ['ſ', 'S', true],
    ['\u212a', 'k', true],
    ['ΣΑΣ', 'σας', true],
    ['A-B', 'a-b', true],
    ['x', 'y', false],
  ])('%j ILIKE %j is %s everywhere', (value, pattern, want) => {
    expect(everywhere(value, pattern, 'ILIKE')).toEqual([want, want, want]);
    expect(everywhere(value, pattern, 'NOT ILIKE')).toEqual([!want, !want, !want]);
  });

  // Patterns that drive backtracking matchers (the old RegExp translation included) into
  // exponential time. Each must be answered correctly, in a number of steps bounded by
  // value length × pattern length (a step: one read of a character of either string),
  // counted rather than timed; the old code took minutes.
  const corpus: [string, string, boolean][] = [
    ['a'.repeat(60), '%a'.repeat(30) + '%b', false],
    ['a'.repeat(60), '%a'.repeat(30) + '%', true],
    ['a'.repeat(200) + 'b', '%a'.repeat(40) + '%c', false],
    ['ab'.repeat(100), '%a%b'.repeat(30) + '%c', false],
    ['a'.repeat(100), '%_'.repeat(50) + '%b', false],
    ['a'.repeat(100), '_%'.repeat(101), false],
    ['a'.repeat(100), '_%'.repeat(100), true],
    ['x'.repeat(5000), '%x%x%x%x%x%x%x%x%x%x%y', false],
    [
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!',
      '%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%!',
      true,
    ],
    ['A'.repeat(80), '%a'.repeat(40) + '%b', false],
  ];

  test.each(corpus)(
    'ReDoS corpus %#: answers right, in value × pattern steps',
    (value, pattern, want) => {
      // Three evaluators, each at most a few reads per (value position, pattern position).
      const bound = 3 * 4 * (value.length + 1) * (pattern.length + 1);
      for (const op of ['LIKE', 'ILIKE'] as const) {
        const ci = op === 'ILIKE';
        const expected = ci || !/[A-Z]/.test(value) ? want : false;
        const {result, reads} = countReads(() => everywhere(value, pattern, op));
        expect(result).toEqual([expected, expected, expected]);
        expect(reads).toBeGreaterThan(0);
        expect(reads).toBeLessThanOrEqual(bound);
      }
    },
  );

  test('agrees with a reference matcher on random patterns and values', () => {
    const alphabet = fc.constantFrom('a', 'b', 'A', '%', '_', '\\', '-', 'é', 'É', '😀', '.');
    const str = fc.array(alphabet, {maxLength: 10}).map(a => a.join(''));
    fc.assert(
      fc.property(str, str, fc.boolean(), (value, pattern, ci) => {
        expect(likeMatches(value, pattern, ci)).toBe(reference(value, pattern, ci));
      }),
      {numRuns: 3000},
    );
  });
});
