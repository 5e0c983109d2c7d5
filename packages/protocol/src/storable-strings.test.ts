import fc from 'fast-check';
import {expect, test} from 'vitest';
import {decodeUpstream} from './frames.ts';
import {
  findUnstorableString,
  mayHoldUnstorableString,
  unstorableProblem,
} from './storable-strings.ts';
import {PROTOCOL_VERSION} from './version.ts';

const connect = (clientID: string) =>
  JSON.stringify([
    'connect',
    {
      protocolVersion: PROTOCOL_VERSION,
      clientID,
      clientGroupID: 'g',
      userID: 'u',
      baseVersion: null,
      lastMutationID: 0,
      desiredQueries: [],
    },
  ]);

test('well-formed strings pass, emoji and escaped backslashes included', () => {
  for (const s of ['plain', 'emoji \ud83d\ude00', '\\u0000 as text', 'é漢字']) {
    expect(unstorableProblem(s)).toBeUndefined();
    expect(decodeUpstream(connect(s))[1]).toMatchObject({clientID: s});
  }
});

test('NUL and both surrogate halves alone are found, in values and keys', () => {
  expect(unstorableProblem('a\u0000')).toBe('nul');
  expect(unstorableProblem('\ud800x')).toBe('lone-surrogate');
  expect(unstorableProblem('x\udc00')).toBe('lone-surrogate');
  expect(unstorableProblem('\ude00\ud83d')).toBe('lone-surrogate');
  expect(findUnstorableString({a: [1, {'k\u0000': 2}]})).toEqual({
    path: 'a.1',
    inKey: true,
    problem: 'nul',
  });
  expect(() => decodeUpstream(connect('c\ud800'))).toThrow(
    /Invalid connect frame at clientID: a string contains an unpaired UTF-16 surrogate/,
  );
});

test('the cheap pre-check never misses a string the walk would find', () => {
  fc.assert(
    fc.property(fc.jsonValue({maxDepth: 3}), fc.string({unit: 'binary'}), (value, s) => {
      const doc = [value, s];
      if (findUnstorableString(doc))
        expect(mayHoldUnstorableString(JSON.stringify(doc))).toBe(true);
    }),
  );
});
