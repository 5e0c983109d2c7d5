// The replica filter turns LIKE into SQLite GLOB (and leaves ILIKE to JS); whatever it
// emits, the rows it selects, after the JS predicate for inexact fragments, must be the
// rows the engine's own matcher selects.
import Database from 'better-sqlite3';
import {afterAll, describe, expect, test} from 'vitest';
import fc from 'fast-check';
import type {Condition, SimpleOperator} from '@zync/protocol';
import {compileRowPredicate, likeMatches} from '@zync/zql/ivm';
import {compileFilter} from './sqlite-filter.ts';

const db = new Database(':memory:');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)');
afterAll(() => db.close());

type Op = Extract<SimpleOperator, 'LIKE' | 'NOT LIKE' | 'ILIKE' | 'NOT ILIKE'>;

function likeCond(op: Op, pattern: string): Condition {
  return {
    kind: 'simple',
    op,
    left: {kind: 'column', name: 's'},
    right: {kind: 'literal', value: pattern},
  };
}

/** Ids of the rows the replica path keeps: SQL first, then JS when the SQL is inexact. */
function viaSqlite(values: readonly (string | null)[], op: Op, pattern: string): number[] {
  db.exec('DELETE FROM t');
  const insert = db.prepare('INSERT INTO t (id, s) VALUES (?, ?)');
  values.forEach((v, i) => insert.run(i, v));
  const cond = likeCond(op, pattern);
  const frag = compileFilter(cond, {s: 'string'});
  const rows = db
    .prepare(`SELECT id, s FROM t WHERE ${frag.sql} ORDER BY id`)
    .all(...frag.params) as {id: number; s: string | null}[];
  const js = compileRowPredicate(cond);
  return rows.filter(r => frag.exact || js(r)).map(r => r.id);
}

function viaMatcher(values: readonly (string | null)[], op: Op, pattern: string): number[] {
  const ci = op === 'ILIKE' || op === 'NOT ILIKE';
  const negate = op === 'NOT LIKE' || op === 'NOT ILIKE';
  const ids: number[] = [];
  values.forEach((v, i) => {
    if (v !== null && likeMatches(v, pattern, ci) !== negate) ids.push(i);
  });
  return ids;
}

const ops = fc.constantFrom<Op>('LIKE', 'NOT LIKE', 'ILIKE', 'NOT ILIKE');
// Characters that matter to one side or the other: wildcards and escapes of both syntaxes,
// ASCII and non-ASCII case pairs (SQLite folds only ASCII), letters that fold onto ASCII,
// astral code points (one `_`, two UTF-16 units).
const valueChars = ['a', 'A', 'b', 'B', 'é', 'É', 'ſ', 's', 'S', '\u212a', 'k', '😀', '-'];
const syntaxChars = ['%', '_', '\\', '*', '?', '[', ']', '^'];
const valueChar = fc.constantFrom(...valueChars, ...syntaxChars);
// Patterns may also hold what values never do (Postgres text cannot): NUL, a lone surrogate.
const patternChar = fc.oneof(
  {weight: 10, arbitrary: valueChar},
  {weight: 1, arbitrary: fc.constantFrom('\0', '\ud83d')},
);
const value = fc.oneof(
  {weight: 8, arbitrary: fc.array(valueChar, {maxLength: 8}).map(a => a.join(''))},
  {weight: 1, arbitrary: fc.constant(null)},
);
const pattern = fc.array(patternChar, {maxLength: 8}).map(a => a.join(''));

describe('LIKE in the replica agrees with the engine', () => {
  test('on random patterns and values', () => {
    fc.assert(
      fc.property(fc.array(value, {minLength: 1, maxLength: 12}), ops, pattern, (vs, op, p) => {
        expect(viaSqlite(vs, op, p)).toEqual(viaMatcher(vs, op, p));
      }),
      {numRuns: 2000},
    );
  });

  test.each([
    ['a NUL cuts the pattern short in SQLite', ['ab', 'ab\u2000'], 'ab\0%'],
    ['a lone surrogate is stored as U+FFFD', ['a\ufffd'], 'a\ud83d'],
    ['a dash is a plain character', ['x-y', 'xy'], 'x-%'],
  ])('%s', (_name, values, p) => {
    for (const op of ['LIKE', 'NOT LIKE'] as const) {
      expect(viaSqlite(values, op, p)).toEqual(viaMatcher(values, op, p));
    }
  });

  test('a pattern past SQLite’s length limit is filtered in JS instead of failing', () => {
    const long = '%' + 'a'.repeat(60_000);
    const frag = compileFilter(likeCond('LIKE', long), {s: 'string'});
    expect(frag.exact).toBe(false);
    expect(viaSqlite(['a'.repeat(60_000), 'b'], 'LIKE', long)).toEqual([0]);
  });

  // Nothing is timed: each pattern costs a backtracking matcher on the order of 10^17 steps
  // or more, so one that backtracks (SQLite's or ours) never finishes and the test fails by
  // its timeout. The JS matcher's step count is bounded in the engine's LIKE tests.
  test('backtracking patterns finish on the SQLite side too', () => {
    const values = ['a'.repeat(60), 'ab'.repeat(200), 'a'.repeat(59) + 'b'];
    for (const p of ['%a'.repeat(30) + '%b', '%a%b'.repeat(40) + '%c', '%_'.repeat(40) + '%b']) {
      for (const op of ['LIKE', 'NOT LIKE', 'ILIKE'] as const) {
        expect(viaSqlite(values, op, p)).toEqual(viaMatcher(values, op, p));
      }
    }
  });
});
