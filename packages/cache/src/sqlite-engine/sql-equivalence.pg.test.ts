// zql's SQL compiler against the engine, on real databases: random conditions (NULLs, mixed
// types, LIKE / ILIKE with special characters, IN, IS / IS NOT, and / or, EXISTS) over
// random rows. An exact fragment must select exactly the rows the engine's reference
// evaluator selects; an inexact one a superset of them. SQLite (better-sqlite3) and Postgres
// (test/pg.ts) run the engine's rules; Postgres also runs the write rules' semantics
// against the permission evaluator.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import type {AST, Condition, LiteralValue, SimpleOperator} from '@zync/protocol';
import {evaluateCondition} from '@zync/zql';
import {evaluate, type Row} from '@zync/zql/ivm';
import {
  compileWhere,
  numberParams,
  postgresDialect,
  sqliteDialect,
  type CompareRules,
  type QueryContext,
  type SqlDialect,
  type SqlTable,
  type ValueKind,
} from '@zync/zql/sql';
import {quoteIdent} from '@zync/shared';
import {createTestDatabase} from '../../../../test/pg.ts';

const PARENT: Record<string, ValueKind> = {
  id: 'number',
  s: 'string',
  t: 'string',
  n: 'number',
  b: 'boolean',
};
const CHILD: Record<string, ValueKind> = {id: 'number', pid: 'number', s: 'string', n: 'number'};
const KINDS: Record<string, Record<string, ValueKind>> = {p: PARENT, c: CHILD};

function sqlTable(name: string): SqlTable {
  const kinds = KINDS[name] as Record<string, ValueKind>;
  return {
    from: quoteIdent(name),
    primaryKey: ['id'],
    columns: Object.keys(kinds),
    column: (alias, col) => {
      const kind = kinds[col];
      return kind && {sql: `${alias}.${quoteIdent(col)}`, kind};
    },
    read: (alias, col) => `${alias}.${quoteIdent(col)}`,
    readJson: (alias, col) => `${alias}.${quoteIdent(col)}`,
  };
}

// Stored text: what Postgres text can hold (no NUL, no lone surrogate). Case pairs that
// fold beyond ASCII (ſ, KELVIN SIGN, İ, ß), astral and high BMP characters, and every
// character that means something to LIKE, GLOB or Postgres's escape.
const CHARS = [
  'a',
  'A',
  'b',
  'B',
  's',
  'S',
  'ſ',
  'k',
  'K',
  '\u212a',
  'é',
  'É',
  'i',
  'İ',
  'ß',
  '😀',
  '\uffff',
  '%',
  '_',
  '\\',
  '*',
  '?',
  '[',
  ']',
  ' ',
];
const str = fc.array(fc.constantFrom(...CHARS), {maxLength: 4}).map(a => a.join(''));
const num = fc.constantFrom(-1, 0, 0.5, 1, 2, 3, 1e21, -1e-7, 123456789.125);
const storedString = fc.oneof(
  {weight: 4, arbitrary: str},
  {weight: 1, arbitrary: fc.constant(null)},
);
const storedNumber = fc.oneof(
  {weight: 4, arbitrary: num},
  {weight: 1, arbitrary: fc.constant(null)},
);
const storedBool = fc.constantFrom(true, false, null);

const parentRows = fc.uniqueArray(
  fc.record({
    id: fc.integer({min: 1, max: 40}),
    s: storedString,
    t: storedString,
    n: storedNumber,
    b: storedBool,
  }),
  {selector: r => r.id, maxLength: 8},
);
const childRows = fc.uniqueArray(
  fc.record({
    id: fc.integer({min: 1, max: 40}),
    pid: fc.oneof(fc.integer({min: 1, max: 40}), fc.constant(null)),
    s: storedString,
    n: storedNumber,
  }),
  {selector: r => r.id, maxLength: 8},
);

// Literals may hold what no stored value does: NUL and a lone surrogate.
const literalString = fc.oneof(
  {weight: 8, arbitrary: str},
  {
    weight: 1,
    arbitrary: fc.tuple(str, fc.constantFrom('\0', '\ud83d', '\ude00'), str).map(a => a.join('')),
  },
);
const scalar = fc.oneof(literalString, num, fc.boolean(), fc.constant(null));
const literal: fc.Arbitrary<LiteralValue> = fc.oneof(
  {weight: 6, arbitrary: scalar},
  {weight: 1, arbitrary: fc.array(scalar, {maxLength: 4})},
);
const OPS: SimpleOperator[] = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'IN',
  'NOT IN',
  'LIKE',
  'NOT LIKE',
  'ILIKE',
  'NOT ILIKE',
  'IS',
  'IS NOT',
];

function simple(cols: string[]): fc.Arbitrary<Condition> {
  const col = fc.constantFrom(...cols).map(name => ({kind: 'column' as const, name}));
  const lit = literal.map(value => ({kind: 'literal' as const, value}));
  return fc
    .tuple(
      fc.constantFrom(...OPS),
      fc.oneof({weight: 6, arbitrary: col}, {weight: 1, arbitrary: lit}),
      fc.oneof({weight: 5, arbitrary: lit}, {weight: 2, arbitrary: col}),
    )
    .map(([op, left, right]) => ({kind: 'simple', op, left, right}));
}

const childCondition: fc.Arbitrary<Condition> = fc.letrec<{c: Condition}>(tie => ({
  c: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    simple(Object.keys(CHILD)),
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      conditions: fc.array(tie('c'), {maxLength: 3}),
    }),
  ),
})).c;

const condition: fc.Arbitrary<Condition> = fc.letrec<{c: Condition}>(tie => ({
  c: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    simple(Object.keys(PARENT)),
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      conditions: fc.array(tie('c'), {maxLength: 3}),
    }),
    fc.record({
      kind: fc.constant('exists' as const),
      op: fc.constantFrom('EXISTS' as const, 'NOT EXISTS' as const),
      related: fc.record({
        kind: fc.constant('correlated' as const),
        correlation: fc.constant({parentField: ['id'], childField: ['pid']}),
        subquery: fc
          .option(childCondition, {nil: undefined})
          .map(where => ({kind: 'query' as const, table: 'c', ...(where ? {where} : {})})),
      }),
    }),
  ),
})).c;

type Case = {parents: Row[]; children: Row[]; cond: Condition};
const cases = fc.record({
  parents: parentRows,
  children: childRows,
  cond: condition,
}) as fc.Arbitrary<Case>;

/** Ids the engine selects: its reference evaluator, or the write rules' evaluator. */
function expected(c: Case, rules: CompareRules): number[] {
  if (rules === 'engine') {
    const ast: AST = {kind: 'query', table: 'p', where: c.cond};
    const rows = evaluate(ast, {p: c.parents, c: c.children}, {p: ['id'], c: ['id']}) as Row[];
    return rows.map(r => r['id'] as number).sort((a, b) => a - b);
  }
  const resolve = (
    e: Extract<Condition, {kind: 'exists'}>,
    row: Readonly<Record<string, unknown>>,
  ): boolean =>
    c.children.some(
      ch =>
        row['id'] !== null &&
        ch['pid'] === row['id'] &&
        (!e.related.subquery.where || evaluateCondition(e.related.subquery.where, ch, resolve)),
    );
  return c.parents
    .filter(r => evaluateCondition(c.cond, r, resolve))
    .map(r => r['id'] as number)
    .sort((a, b) => a - b);
}

type Outcome = {ids: number[]; exact: boolean};
const stats = {exact: 0, inexact: 0};

function check(c: Case, rules: CompareRules, got: Outcome): void {
  const want = expected(c, rules);
  if (got.exact) {
    stats.exact++;
    expect(got.ids).toEqual(want);
  } else {
    stats.inexact++;
    expect(got.ids).toEqual(expect.arrayContaining(want));
  }
}

function compile(c: Case, dialect: SqlDialect, rules: CompareRules) {
  const ctx: QueryContext = {dialect, rules, table: sqlTable};
  return compileWhere(c.cond, 'p', 'p0', ctx);
}

describe('SQLite: exact fragments select what the engine selects', () => {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE p (id INTEGER PRIMARY KEY, s TEXT, t TEXT, n REAL, b INTEGER);
    CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER, s TEXT, n REAL);`);
  afterAll(() => db.close());
  const insertP = db.prepare('INSERT INTO p VALUES (?, ?, ?, ?, ?)');
  const insertC = db.prepare('INSERT INTO c VALUES (?, ?, ?, ?)');

  test('random conditions and rows', () => {
    stats.exact = stats.inexact = 0;
    fc.assert(
      fc.property(cases, c => {
        db.exec('DELETE FROM p; DELETE FROM c');
        for (const r of c.parents)
          insertP.run(r['id'], r['s'], r['t'], r['n'], r['b'] === null ? null : r['b'] ? 1 : 0);
        for (const r of c.children) insertC.run(r['id'], r['pid'], r['s'], r['n']);
        const f = compile(c, sqliteDialect, 'engine');
        const ids = (
          db.prepare(`SELECT id FROM p AS p0 WHERE ${f.sql} ORDER BY id`).all(...f.params) as {
            id: number;
          }[]
        ).map(r => r.id);
        check(c, 'engine', {ids, exact: f.exact});
      }),
      {numRuns: 1500},
    );
    // Most conditions compile exactly: the comparison above is not vacuous.
    expect(stats.exact).toBeGreaterThan(stats.inexact);
  });
});

describe('Postgres: exact fragments select what the engine (or the write rules) select', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({connectionString: await createTestDatabase('sql_equivalence')});
    await client.connect();
    await client.query(`CREATE TABLE p (id INT PRIMARY KEY, s TEXT, t TEXT, n FLOAT8, b BOOLEAN);
      CREATE TABLE c (id INT PRIMARY KEY, pid INT, s TEXT, n FLOAT8);`);
  });
  afterAll(async () => {
    await client.end();
  });

  async function run(c: Case, rules: CompareRules): Promise<void> {
    await client.query('BEGIN');
    try {
      for (const r of c.parents)
        await client.query('INSERT INTO p VALUES ($1, $2, $3, $4, $5)', [
          r['id'],
          r['s'],
          r['t'],
          r['n'],
          r['b'],
        ]);
      for (const r of c.children)
        await client.query('INSERT INTO c VALUES ($1, $2, $3, $4)', [
          r['id'],
          r['pid'],
          r['s'],
          r['n'],
        ]);
      const f = compile(c, postgresDialect, rules);
      const res = await client.query<{id: number}>(
        `SELECT id FROM p AS p0 WHERE ${numberParams(f.sql)} ORDER BY id`,
        [...f.params],
      );
      check(c, rules, {ids: res.rows.map(r => r.id), exact: f.exact});
    } finally {
      await client.query('ROLLBACK');
    }
  }

  for (const rules of ['engine', 'permissions'] as const) {
    test(`random conditions and rows (${rules} rules)`, async () => {
      stats.exact = stats.inexact = 0;
      await fc.assert(
        fc.asyncProperty(cases, c => run(c, rules)),
        {numRuns: 300},
      );
      expect(stats.exact).toBeGreaterThan(stats.inexact);
    });
  }

  test.each<[string, Condition]>([
    [
      'ILIKE folds as the engine does, not as the database locale does',
      {
        kind: 'simple',
        op: 'ILIKE',
        left: {kind: 'column', name: 's'},
        right: {kind: 'literal', value: '%K%'},
      },
    ],
    [
      'ILIKE folds as the engine does, not as the database locale does (%S%)',
      {
        kind: 'simple',
        op: 'ILIKE',
        left: {kind: 'column', name: 's'},
        right: {kind: 'literal', value: '%S%'},
      },
    ],
    [
      'ILIKE folds as the engine does, not as the database locale does (%i%)',
      {
        kind: 'simple',
        op: 'ILIKE',
        left: {kind: 'column', name: 's'},
        right: {kind: 'literal', value: '%i%'},
      },
    ],
    [
      'a trailing backslash is a literal backslash',
      {
        kind: 'simple',
        op: 'LIKE',
        left: {kind: 'column', name: 's'},
        right: {kind: 'literal', value: 'a\\'},
      },
    ],
    [
      'a NUL in an ordered literal',
      {
        kind: 'simple',
        op: '>',
        left: {kind: 'column', name: 's'},
        right: {kind: 'literal', value: 'a\0'},
      },
    ],
    [
      'numbers and strings order by type',
      {
        kind: 'simple',
        op: '<',
        left: {kind: 'column', name: 'n'},
        right: {kind: 'literal', value: 'x'},
      },
    ],
  ])('%s', async (_name, cond) => {
    const parents = ['a\\', 'a', 'ab', 'k', '\u212a', 'ſ', 'İ', 'i', null].map((s, i) => ({
      id: i + 1,
      s,
      t: null,
      n: i,
      b: null,
    }));
    await run({parents, children: [], cond}, 'engine');
  });
});
