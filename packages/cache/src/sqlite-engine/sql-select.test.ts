// compileQuery with the SQLite dialect: one statement whose related subqueries come back as
// nested JSON arrays (json_object / json_group_array), equal to the engine's reference
// evaluator's result tree.
import Database from 'better-sqlite3';
import {afterAll, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {evaluate, type Row} from '@zync/zql/ivm';
import {compileQuery, sqliteDialect, type SqlTable, type ValueKind} from '@zync/zql/sql';
import {quoteIdent} from '@zync/shared';

const KINDS: Record<string, Record<string, ValueKind>> = {
  p: {id: 'number', s: 'string', b: 'boolean'},
  c: {id: 'number', pid: 'number', s: 'string', n: 'number'},
};

function sqlTable(name: string): SqlTable {
  const kinds = KINDS[name] as Record<string, ValueKind>;
  const ref = (alias: string, col: string) => `${alias}.${quoteIdent(col)}`;
  return {
    from: quoteIdent(name),
    primaryKey: ['id'],
    columns: Object.keys(kinds),
    column: (alias, col) => {
      const kind = kinds[col];
      return kind && {sql: ref(alias, col), kind};
    },
    read: ref,
    // Booleans are stored 0/1: inside JSON they must be true / false.
    readJson: (alias, col) =>
      kinds[col] === 'boolean'
        ? `CASE ${ref(alias, col)} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END`
        : ref(alias, col),
  };
}

const P: Row[] = [
  {id: 1, s: 'a', b: true},
  {id: 2, s: 'B', b: false},
  {id: 3, s: null, b: null},
];
const C: Row[] = [
  {id: 10, pid: 1, s: 'x', n: 3},
  {id: 11, pid: 1, s: 'y', n: null},
  {id: 12, pid: 1, s: '😀', n: 7.5},
  {id: 13, pid: 2, s: 'z', n: 1},
  {id: 14, pid: null, s: 'w', n: 2},
];

const db = new Database(':memory:');
db.exec(`CREATE TABLE p (id INTEGER PRIMARY KEY, s TEXT, b INTEGER);
  CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER, s TEXT, n REAL);`);
for (const r of P)
  db.prepare('INSERT INTO p VALUES (?, ?, ?)').run(
    r['id'],
    r['s'],
    r['b'] === null ? null : Number(r['b']),
  );
for (const r of C)
  db.prepare('INSERT INTO c VALUES (?, ?, ?, ?)').run(r['id'], r['pid'], r['s'], r['n']);
afterAll(() => db.close());

function viaSql(ast: AST): unknown[] {
  const f = compileQuery(ast, {dialect: sqliteDialect, table: sqlTable});
  expect(f.exact).toBe(true);
  const decode = (a: AST, raw: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [col, kind] of Object.entries(KINDS[a.table] ?? {})) {
      const v = raw[col] ?? null;
      out[col] = kind === 'boolean' && typeof v === 'number' ? v === 1 : v;
    }
    for (const r of a.related ?? []) {
      const name = r.subquery.alias ?? r.subquery.table;
      // The root row holds JSON text; nested levels are already JSON inside it.
      const v = raw[name];
      const list = (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>[];
      const rows = list.map(x => decode(r.subquery, x));
      out[name] = r.subquery.one ? rows[0] : rows;
    }
    return out;
  };
  return (db.prepare(f.sql).all(...f.params) as Record<string, unknown>[]).map(r => decode(ast, r));
}

const corr = {parentField: ['id'], childField: ['pid']};
const cases: [string, AST][] = [
  [
    'related, ordered and limited per parent',
    {
      kind: 'query',
      table: 'p',
      related: [
        {
          kind: 'correlated',
          correlation: corr,
          subquery: {kind: 'query', table: 'c', alias: 'cs', orderBy: [['n', 'desc']], limit: 2},
        },
      ],
    },
  ],
  [
    'nested, with start, where and one',
    {
      kind: 'query',
      table: 'p',
      where: {
        kind: 'simple',
        op: 'IS NOT',
        left: {kind: 'column', name: 's'},
        right: {kind: 'literal', value: null},
      },
      related: [
        {
          kind: 'correlated',
          correlation: corr,
          subquery: {
            kind: 'query',
            table: 'c',
            alias: 'cs',
            orderBy: [['s', 'asc']],
            start: {row: {s: 'x', id: 10}, exclusive: false},
            related: [
              {
                kind: 'correlated',
                correlation: {parentField: ['pid'], childField: ['id']},
                subquery: {kind: 'query', table: 'p', alias: 'parent', one: true},
              },
            ],
          },
        },
      ],
    },
  ],
];

for (const [name, ast] of cases) {
  test(name, () => {
    expect(viaSql(ast)).toEqual(evaluate(ast, {p: P, c: C}, {p: ['id'], c: ['id']}));
  });
}
