import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, test} from 'vitest';
import type {Condition, Ordering} from '@zync/protocol';
import {
  compileRowPredicate,
  completeOrdering,
  makeComparator,
  MemorySource,
  type FetchRequest,
  type Row,
} from '@zync/zql/ivm';
import {compileFilter, likeToGlob} from './sqlite-filter.ts';
import {Snapshotter} from './snapshotter.ts';
import {TestReplica} from '../../test/sqlite-test-replica.ts';
import {expectPushRefusals} from '@zync/zql/test/ivm-harness/push-refusals.ts';

const dir = mkdtempSync(join(tmpdir(), 'zync-sqlite-src-'));
let n = 0;
const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const fn of cleanup.splice(0)) fn();
  rmSync(dir, {recursive: true, force: true});
});

const COLUMNS = {id: 'int4', s: 'text', n: 'float8', b: 'bool', j: 'jsonb'};

const ROWS: Row[] = [
  {id: 1, s: 'a', n: 1, b: true, j: null},
  {id: 2, s: 'A', n: -1.5, b: false, j: null},
  {id: 3, s: null, n: null, b: null, j: null},
  {id: 4, s: 'a_b', n: 0, b: true, j: null},
  {id: 5, s: 'a%b', n: 2, b: false, j: null},
  {id: 6, s: 'axb', n: 10, b: true, j: null},
  {id: 7, s: 'b\\c', n: 1e-9, b: false, j: null},
  {id: 8, s: 'é', n: 1, b: null, j: null},
  {id: 9, s: 'É', n: 3, b: true, j: null},
  {id: 10, s: '', n: 2, b: false, j: null},
  {id: 11, s: 'a*b', n: 5, b: true, j: null},
  {id: 12, s: 'ab', n: 6, b: false, j: null},
  {id: 13, s: 'ä', n: 7, b: null, j: null},
  {id: 14, s: '10', n: 10, b: true, j: null},
  {id: 15, s: '9', n: 9, b: false, j: null},
];

function setup(rows: readonly Row[] = ROWS) {
  const file = join(dir, `t${n++}.db`);
  const replica = new TestReplica(file, [{name: 't', columns: COLUMNS, primaryKey: ['id']}]);
  replica.apply(rows.map(row => ({table: 't', change: {type: 'add' as const, row}})));
  const snapshotter = new Snapshotter(file);
  cleanup.push(
    () => snapshotter.destroy(),
    () => replica.close(),
  );
  const source = snapshotter.getSource('t');
  if (!source) throw new Error('no source');
  const memory = new MemorySource('t', ['id'], rows);
  return {replica, snapshotter, source, memory};
}

function ids(it: Iterable<{row: Row}>): unknown[] {
  return [...it].map(n => n.row['id']);
}

const col = (name: string) => ({kind: 'column' as const, name});
const lit = (value: unknown) =>
  ({kind: 'literal' as const, value}) as {kind: 'literal'; value: never};
const cond = (l: string, op: string, v: unknown): Condition =>
  ({kind: 'simple', op, left: col(l), right: lit(v)}) as unknown as Condition;

describe('filter compilation agrees with the engine', () => {
  const cases: [string, Condition][] = [
    ['= string', cond('s', '=', 'a')],
    ['= number vs string col', cond('s', '=', 10)],
    ['!= with nulls', cond('s', '!=', 'a')],
    ['< string', cond('s', '<', 'a_b')],
    ['>= number', cond('n', '>=', 1)],
    ['> string literal on number column (type rank)', cond('n', '>', 'x')],
    ['< string literal on number column (type rank)', cond('n', '<', 'x')],
    ['IS NULL', cond('s', 'IS', null)],
    ['IS NOT NULL', cond('s', 'IS NOT', null)],
    ['IS value', cond('n', 'IS', 1)],
    ['IS NOT value', cond('n', 'IS NOT', 1)],
    ['IS mismatched type', cond('n', 'IS NOT', '1')],
    ['= null', cond('s', '=', null)],
    ['LIKE case-sensitive', cond('s', 'LIKE', 'a%')],
    ['LIKE _', cond('s', 'LIKE', 'a_b')],
    ['LIKE escaped _', cond('s', 'LIKE', 'a\\_b')],
    ['LIKE escaped %', cond('s', 'LIKE', 'a\\%b')],
    ['LIKE glob chars are literal', cond('s', 'LIKE', 'a*b')],
    ['LIKE backslash', cond('s', 'LIKE', 'b\\\\c')],
    ['NOT LIKE', cond('s', 'NOT LIKE', 'a%')],
    ['ILIKE ascii', cond('s', 'ILIKE', 'a%')],
    ['ILIKE non-ascii', cond('s', 'ILIKE', 'é')],
    ['NOT ILIKE', cond('s', 'NOT ILIKE', 'a%')],
    ['IN strings', cond('s', 'IN', ['a', 'A', 10])],
    ['IN numbers, mixed', cond('n', 'IN', [1, '2', null])],
    ['IN empty', cond('n', 'IN', [])],
    ['NOT IN', cond('n', 'NOT IN', [1, 2])],
    ['NOT IN with null', cond('n', 'NOT IN', [1, null])],
    ['NOT IN empty', cond('n', 'NOT IN', [])],
    ['boolean = true', cond('b', '=', true)],
    ['boolean != false', cond('b', '!=', false)],
    ['boolean = 1 (type mismatch)', cond('b', '=', 1)],
    ['boolean > false', cond('b', '>', false)],
    ['column = column', {kind: 'simple', op: '=', left: col('n'), right: col('id')}],
    [
      'column < column (string vs number)',
      {kind: 'simple', op: '<', left: col('s'), right: col('n')},
    ],
    [
      'or with literal comparison',
      {
        kind: 'or',
        conditions: [
          {kind: 'simple', op: '=', left: lit(1), right: lit(null)},
          cond('n', '>', 2),
          cond('s', 'ILIKE', 'A'),
        ],
      },
    ],
    ['and', {kind: 'and', conditions: [cond('n', '>', 0), cond('s', 'LIKE', '%b')]}],
  ];
  const {source, memory} = setup();
  for (const [name, c] of cases) {
    test(name, () => {
      const pred = compileRowPredicate(c);
      const want = ROWS.filter(pred).map(r => r['id']);
      expect(ids(source.connect([], {filter: c}).fetch({}))).toEqual(want);
      expect(ids(memory.connect([], {filter: c}).fetch({}))).toEqual(want);
    });
  }

  test('exact where SQLite agrees, marked inexact where it would not', () => {
    const kinds = {s: 'string', n: 'number', b: 'boolean', j: 'json'} as const;
    expect(compileFilter(cond('s', 'LIKE', 'a%'), kinds)).toEqual({
      sql: `"s" GLOB ?`,
      params: ['a*'],
      exact: true,
    });
    expect(compileFilter(cond('s', 'ILIKE', 'a%'), kinds).exact).toBe(false);
    // The engine orders strings by code point, as SQLite does: exact even for astral text.
    expect(compileFilter(cond('s', '<', '😀'), kinds)).toEqual({
      sql: `"s" < ?`,
      params: ['😀'],
      exact: true,
    });
    // A lone surrogate has no code point order that SQLite could follow.
    expect(compileFilter(cond('s', '<', '\ud83d'), kinds).exact).toBe(false);
    expect(compileFilter(cond('b', '=', true), kinds)).toEqual({
      sql: `"b" = ?`,
      params: [1],
      exact: true,
    });
    expect(compileFilter(cond('j', '=', 'x'), kinds).exact).toBe(false);
    expect(likeToGlob('a\\%[*?_%')).toBe('a%[[][*][?]?*');
  });
});

describe('fetch', () => {
  const orderings: Ordering[] = [
    [],
    [['s', 'asc']],
    [['s', 'desc']],
    [['n', 'asc']],
    [
      ['n', 'desc'],
      ['s', 'asc'],
    ],
    [
      ['b', 'asc'],
      ['n', 'desc'],
    ],
  ];
  for (const ordering of orderings) {
    test(`order, start bounds and reverse equal MemorySource: ${JSON.stringify(ordering)}`, () => {
      const {source, memory} = setup();
      const s = source.connect(ordering);
      const m = memory.connect(ordering);
      const compare = makeComparator(completeOrdering(ordering, ['id']));
      const sorted = [...ROWS].sort(compare).map(r => r['id']);
      expect(ids(s.fetch({}))).toEqual(sorted);
      expect(ids(s.fetch({reverse: true}))).toEqual([...sorted].reverse());
      for (const row of ROWS) {
        for (const basis of ['at', 'after'] as const) {
          for (const reverse of [false, true]) {
            const req: FetchRequest = {start: {row, basis}, reverse};
            expect(ids(s.fetch(req))).toEqual(ids(m.fetch(req)));
          }
        }
      }
    });
  }

  test('constraint, with start and reverse; null and mistyped constraints match nothing', () => {
    const {source, memory} = setup();
    const s = source.connect([['s', 'asc']]);
    const m = memory.connect([['s', 'asc']]);
    const reqs: FetchRequest[] = [
      {constraint: {n: 1}},
      {constraint: {b: true}},
      {constraint: {b: false}, reverse: true},
      {constraint: {n: 2}, start: {row: ROWS[4] as Row, basis: 'after'}},
      {constraint: {n: null}},
      {constraint: {n: '1'}},
      {constraint: {id: 4}},
    ];
    for (const req of reqs) expect(ids(s.fetch(req))).toEqual(ids(m.fetch(req)));
    expect(ids(s.fetch({constraint: {b: true}}))).toEqual(
      [4, 1, 6, 9, 11, 14]
        .sort((a, b) => ROWS.findIndex(r => r['id'] === a) - ROWS.findIndex(r => r['id'] === b))
        .sort((a, b) => {
          const ra = ROWS.find(r => r['id'] === a) as Row;
          const rb = ROWS.find(r => r['id'] === b) as Row;
          return makeComparator([
            ['s', 'asc'],
            ['id', 'asc'],
          ])(ra, rb);
        }),
    );
  });

  test('booleans and json come out converted', () => {
    const {source} = setup([{id: 1, s: 'x', n: 1, b: true, j: {a: [1, 'x']} as unknown as string}]);
    const rows = [...source.connect([]).fetch({})].map(n => n.row);
    expect(rows).toEqual([{id: 1, s: 'x', n: 1, b: true, j: {a: [1, 'x']}}]);
  });

  test('odd column names are plain properties of the rows', () => {
    const file = join(dir, `t${n++}.db`);
    const replica = new TestReplica(file, [
      {
        name: 'odd',
        // A computed key: a literal `__proto__:` would set the prototype.
        columns: {id: 'int4', ['__proto__']: 'text', 'a"b': 'bool', constructor: 'jsonb'},
        primaryKey: ['id'],
      },
    ]);
    const row = {id: 1, ['__proto__']: 'p', 'a"b': false, constructor: [1]};
    replica.apply([{table: 'odd', change: {type: 'add', row}}]);
    const snapshotter = new Snapshotter(file);
    cleanup.push(
      () => snapshotter.destroy(),
      () => replica.close(),
    );
    const [got] = [...(snapshotter.getSource('odd')?.connect([]).fetch({}) ?? [])].map(x => x.row);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.entries(got ?? {})).toEqual([
      ['id', 1],
      ['__proto__', 'p'],
      ['a"b', false],
      ['constructor', [1]],
    ]);
  });

  test('nested fetches of one request shape (self-join) use separate statements', () => {
    const {source} = setup();
    const c = source.connect([['n', 'asc']]);
    let pairs = 0;
    for (const a of c.fetch({}))
      for (const _ of c.fetch({constraint: {n: a.row['n'] ?? null}})) pairs++;
    const byN = new Map<unknown, number>();
    for (const r of ROWS) if (r['n'] !== null) byN.set(r['n'], (byN.get(r['n']) ?? 0) + 1);
    expect(pairs).toBe([...byN.values()].reduce((x, y) => x + y * y, 0));
  });

  test('tricky strings and numbers hydrate in the engine comparator order', () => {
    const strs = [
      '',
      ' ',
      'a',
      'A',
      'aa',
      'a ',
      'Z',
      'z',
      '~',
      'é',
      'e\u0301',
      'ß',
      '中',
      '\u00ff',
      '\u0100',
      'a\u0000b',
      '\ud7ff',
    ];
    const nums = [0, -0.5, 1e-300, -1e300, 2 ** 53, -(2 ** 53), 3, 3.0000001, 1e21];
    const rows: Row[] = [
      ...strs.map((s, i) => ({id: i + 1, s, n: nums[i % nums.length] ?? null, b: null, j: null})),
      {id: 100, s: null, n: null, b: null, j: null},
    ];
    const {source} = setup(rows);
    for (const ordering of [
      [['s', 'asc']],
      [['s', 'desc']],
      [['n', 'asc']],
      [['n', 'desc']],
    ] as Ordering[]) {
      const compare = makeComparator(completeOrdering(ordering, ['id']));
      expect(ids(source.connect(ordering).fetch({}))).toEqual(
        [...rows].sort(compare).map(r => r['id']),
      );
    }
  });

  test('fetches longer than a page (read in growing pages) equal MemorySource', () => {
    // 3,000 rows: 256 stepped, then pages of 1,024 and 2,048; strings with surrogates
    // cannot bound a page in SQL (in descending `s` order the 256th row has one), so a
    // page ending on them continues without one.
    const rows: Row[] = [];
    for (let i = 1; i <= 3000; i++) {
      const s = i % 7 === 0 ? `😀${i % 50}` : i % 11 === 0 ? null : `k${(i * 37) % 300}`;
      rows.push({id: i, s, n: i % 13 === 0 ? null : (i * 7) % 101, b: i % 3 === 0, j: null});
    }
    const {source, memory} = setup(rows);
    const orderings: Ordering[] = [[], [['s', 'asc']], [['s', 'desc']], [['n', 'desc']]];
    for (const ordering of orderings) {
      for (const filter of [undefined, cond('n', '>', 20), cond('s', 'LIKE', 'k1%')]) {
        const s = source.connect(ordering, {filter});
        const m = memory.connect(ordering, {filter});
        const reqs: FetchRequest[] = [
          {},
          {reverse: true},
          {constraint: {b: true}},
          {constraint: {b: false}, reverse: true},
          {start: {row: rows[500] as Row, basis: 'after'}},
          {start: {row: rows[2069] as Row, basis: 'at'}, reverse: true},
        ];
        for (const req of reqs) {
          const got = ids(s.fetch(req));
          expect(got).toEqual(ids(m.fetch(req)));
          // A consumer that stops early sees the same first rows.
          const first: unknown[] = [];
          for (const node of s.fetch(req)) {
            first.push(node.row['id']);
            if (first.length === 300) break;
          }
          expect(first).toEqual(got.slice(0, 300));
        }
      }
    }
  });

  test('a long fetch suspended when the snapshot moves on ends there, in pages too', () => {
    const rows: Row[] = [];
    for (let i = 1; i <= 2000; i++) rows.push({id: i, s: `s${i}`, n: i, b: true, j: null});
    const {replica, snapshotter, source} = setup(rows);
    const it = source.connect([]).fetch({})[Symbol.iterator]();
    for (let i = 1; i <= 600; i++) expect(it.next().value?.row['id']).toBe(i);
    replica.apply([
      {table: 't', change: {type: 'add', row: {id: 5000, s: 'x', n: 0, b: true, j: null}}},
    ]);
    const adv = snapshotter.advance();
    if (adv.kind !== 'changes') throw new Error(adv.kind);
    for (const c of adv.changes()) snapshotter.getSource(c.table)?.push(c.change);
    adv.commit();
    expect(it.next().done).toBe(true);
  });

  test('astral vs U+E000–U+FFFF strings: SQLite and the engine both order by code point', () => {
    const rows: Row[] = [
      {id: 1, s: '\uff01', n: null, b: null, j: null},
      {id: 2, s: '😀', n: null, b: null, j: null},
    ];
    const {source} = setup(rows);
    const compare = makeComparator([
      ['s', 'asc'],
      ['id', 'asc'],
    ]);
    expect(ids(source.connect([['s', 'asc']]).fetch({}))).toEqual(
      [...rows].sort(compare).map(r => r['id']),
    );
  });
});

test('SQLiteSource refuses changes that do not fit its rows, as MemorySource does', () => {
  const {source} = setup();
  const [a, b] = ROWS as [Row, Row];
  expectPushRefusals(source, a, b, {id: 99, s: null, n: null, b: null, j: null});
});
