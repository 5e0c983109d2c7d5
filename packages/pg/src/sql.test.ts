import {expect, test} from 'vitest';
import {PgLayerError} from './errors.ts';
import {ident, inlineSql, inlineStatements, join, quoteLiteral, sql} from './sql.ts';

test('values become $n parameters; nested fragments are renumbered', () => {
  const where = sql`a = ${1} AND b = ${'x'}`;
  const q = sql`SELECT * FROM ${ident('s', 't')} WHERE ${where} AND c IN (${join([2, 3], ', ')})`;
  expect(q.text).toBe('SELECT * FROM "s"."t" WHERE a = $1 AND b = $2 AND c IN ($3, $4)');
  expect(q.values).toEqual([1, 'x', 2, 3]);
});

test('identifiers are quoted, never parameters; a NUL in one is refused', () => {
  const q = sql`SELECT ${ident('we"ird $1')} FROM ${ident('t')}`;
  expect(q.text).toBe('SELECT "we""ird $1" FROM "t"');
  expect(q.values).toEqual([]);
  expect(() => ident('a\u0000b')).toThrow(TypeError);
});

test('quoteLiteral: quotes doubled, backslashes as E-strings, NULL, scalars as text', () => {
  expect(quoteLiteral("it's")).toBe("'it''s'");
  expect(quoteLiteral('a\\b')).toBe(" E'a\\\\b'");
  expect(quoteLiteral(null)).toBe('NULL');
  expect(quoteLiteral(undefined)).toBe('NULL');
  expect(quoteLiteral(12.5)).toBe("'12.5'");
  expect(quoteLiteral(10n)).toBe("'10'");
  expect(quoteLiteral(false)).toBe("'false'");
  expect(() => quoteLiteral({a: 1})).toThrow(/cannot be written as an SQL literal/);
});

test('quoteLiteral refuses text with a NUL character, without quoting the text', () => {
  let err: unknown;
  try {
    quoteLiteral('secret\u0000value');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PgLayerError);
  expect(err).toMatchObject({kind: 'nul-character'});
  expect((err as Error).message).not.toContain('secret');
});

test('inlineSql writes each value where its placeholder was; identifiers stay as they are', () => {
  const q = sql`UPDATE ${ident('t$1')} SET v = ${"o'k"}::text WHERE id = ${7} AND x IS ${null}`;
  expect(inlineSql(q)).toBe(`UPDATE "t$1" SET v = 'o''k'::text WHERE id = '7' AND x IS NULL`);
  expect(inlineStatements([sql`SELECT ${1}`, sql`SELECT ${'2'}`])).toBe("SELECT '1'; SELECT '2'");
});
