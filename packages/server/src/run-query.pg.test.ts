// tx.run issues ONE statement per query, related subqueries (nested, two-hop, with their own
// orderBy / limit / start) included, and the nested rows carry the same values as the same
// rows read at the top level (times as epoch ms, bigint / numeric / real as numbers, json
// and arrays as JSON, ±infinity timestamps as ±Infinity).
import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {
  boolean,
  createBuilder,
  createSchema,
  json,
  number,
  relationships,
  string,
  table,
  type AnyQuery,
} from '@zync/zql';
import type {AST} from '@zync/protocol';
import {evaluate, type PrimaryKey, type Row as ZqlRow} from '@zync/zql/ivm';
import {createTestDatabase} from '../../../test/pg.ts';
import {NodePgConnection} from './adapters/node-pg.ts';
import type {DBConnection, DBTransaction, Row} from './db.ts';
import {ZQLDatabase} from './zql-database.ts';

const project = table('project')
  .columns({
    id: string(),
    name: string(),
    budget: number().optional(),
    big: number().optional(),
    score: number().optional(),
    flag: boolean().optional(),
    at: number().optional(),
    day: number().optional(),
    meta: json().optional(),
    tags: json<string[]>().optional(),
  })
  .primaryKey('id');
const task = table('task')
  .columns({
    id: string(),
    projectID: string().from('project_id'),
    title: string(),
    rank: number().optional(),
    done: boolean(),
    due: number().optional(),
  })
  .primaryKey('id');
const label = table('label').columns({id: string(), name: string()}).primaryKey('id');
const taskLabel = table('taskLabel')
  .from('task_label')
  .columns({taskID: string().from('task_id'), labelID: string().from('label_id')})
  .primaryKey('taskID', 'labelID');
const schema = createSchema({
  tables: [project, task, label, taskLabel],
  relationships: [
    relationships(project, ({many}) => ({
      tasks: many({sourceField: ['id'], destField: ['projectID'], destSchema: task}),
    })),
    relationships(task, ({one, many}) => ({
      project: one({sourceField: ['projectID'], destField: ['id'], destSchema: project}),
      labels: many(
        {sourceField: ['id'], destField: ['taskID'], destSchema: taskLabel},
        {sourceField: ['labelID'], destField: ['id'], destSchema: label},
      ),
    })),
  ],
});

let pool: pg.Pool;
let statements = 0;
let db: ZQLDatabase<typeof schema, unknown>;
const zql = createBuilder(schema);

/** Counts the statements a transaction sends. */
function counting(inner: DBConnection<unknown>): DBConnection<unknown> {
  return {
    transaction: fn =>
      inner.transaction(tx => {
        const counted: DBTransaction<unknown> = {
          wrappedTransaction: tx.wrappedTransaction,
          query: (sql, params) => {
            statements++;
            return tx.query(sql, params);
          },
        };
        return fn(counted);
      }),
  };
}

beforeAll(async () => {
  pool = new pg.Pool({connectionString: await createTestDatabase('run_query')});
  await pool.query(`
    CREATE TABLE project (id TEXT PRIMARY KEY, name TEXT NOT NULL, budget NUMERIC, big BIGINT,
      score REAL, flag BOOLEAN, at TIMESTAMPTZ, day DATE, meta JSONB, tags TEXT[]);
    CREATE TABLE task (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, title TEXT NOT NULL,
      rank INT, done BOOLEAN NOT NULL, due TIMESTAMP);
    CREATE TABLE label (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE task_label (task_id TEXT, label_id TEXT, PRIMARY KEY (task_id, label_id));
    INSERT INTO project VALUES
      ('p1', 'One', 12.5, 9007199254740, 0.1, true, '2024-01-02T03:04:05.678Z', '2024-02-29',
        '{"a": [1, "x", null], "b": {"c": true}}', '{x,"y z"}'),
      ('p2', 'Two', NULL, NULL, NULL, NULL, 'infinity', NULL, '"just a string"', '{}'),
      ('p3', 'Three', -1, -5, 1e30, false, '-infinity', '1970-01-01', 'null', NULL);
    INSERT INTO task VALUES
      ('t1', 'p1', 'a', 1, false, '2024-03-01 12:00:00'), ('t2', 'p1', 'b', 5, true, NULL),
      ('t3', 'p1', 'c', 3, false, 'infinity'), ('t4', 'p1', 'd', NULL, true, NULL),
      ('t5', 'p2', 'e', 2, false, NULL);
    INSERT INTO label VALUES ('l1', 'red'), ('l2', 'Blue'), ('l3', 'green');
    INSERT INTO task_label VALUES ('t1', 'l1'), ('t1', 'l2'), ('t2', 'l3'), ('t3', 'l1'),
      ('t3', 'l2'), ('t3', 'l3');`);
  db = new ZQLDatabase(counting(new NodePgConnection(pool)), schema);
  // Reads the catalog once, so that the statements counted below are the queries' own.
  await db.transaction(tx =>
    Promise.all(Object.keys(schema.tables).map(t => tx.run({kind: 'query', table: t}))),
  );
});

afterAll(async () => {
  await pool.end();
});

function run(q: AnyQuery | AST): Promise<Row[] | Row | undefined> {
  return db.transaction(tx => tx.run(q));
}

async function counted<T>(fn: () => Promise<T>): Promise<{result: T; statements: number}> {
  const before = statements;
  const result = await fn();
  return {result, statements: statements - before};
}

test('a query with nested, two-hop and limited relationships is one statement', async () => {
  const q = zql.project.orderBy('id', 'asc').related('tasks', t =>
    t
      .where('done', false)
      .orderBy('rank', 'desc')
      .limit(2)
      .related('labels', l => l.orderBy('name', 'asc'))
      .related('project', p => p.one()),
  );
  const {result, statements: n} = await counted(() => run(q));
  expect(n).toBe(1);
  const rows = result as Row[];
  expect(rows.map(r => r['id'])).toEqual(['p1', 'p2', 'p3']);
  const p1 = rows[0] as Row;
  const tasks = p1['tasks'] as Row[];
  // done = false, rank descending (NULL last), two of them.
  expect(tasks.map(t => t['id'])).toEqual(['t3', 't1']);
  // Labels through the junction come in the junction's order, as in the engine.
  expect((tasks[0]?.['labels'] as Row[]).map(l => l['name'])).toEqual(['red', 'Blue', 'green']);
  expect((tasks[1]?.['labels'] as Row[]).map(l => l['name'])).toEqual(['red', 'Blue']);
  expect((rows[1]?.['tasks'] as Row[]).map(t => t['id'])).toEqual(['t5']);
  expect(rows[2]?.['tasks']).toEqual([]);
  // A `one` relationship is a row.
  expect((tasks[0]?.['project'] as Row)['name']).toBe('One');

  // Nested values equal the same rows read at the top level (the driver's decoding).
  for (const t of tasks) {
    const {labels: _l, project: nestedProject, ...plain} = t;
    expect(plain).toEqual(await run(zql.task.where('id', t['id'] as string).one()));
    const {tasks: _t, ...topProject} = p1;
    expect(nestedProject).toEqual(topProject);
  }
  // And the whole tree is the engine's reference result over the same rows.
  expect(rows).toEqual(await engineResult(q));
});

/** The engine's reference evaluator over every table's rows as read at the top level. */
async function engineResult(q: AnyQuery): Promise<unknown> {
  const tables: Record<string, ZqlRow[]> = {};
  const pks: Record<string, PrimaryKey> = {};
  for (const [name, ts] of Object.entries(schema.tables)) {
    tables[name] = (await run({kind: 'query', table: name})) as ZqlRow[];
    pks[name] = ts.primaryKey;
  }
  return evaluate((q as unknown as {ast: AST}).ast, tables, pks);
}

test('nested rows decode every column type as the top level does', async () => {
  const {result} = await counted(() =>
    run(zql.task.where('id', 'IN', ['t1', 't5']).related('project', p => p.one())),
  );
  const nested = (result as Row[]).map(r => r['project']);
  const top = (await run(zql.project.where('id', 'IN', ['p1', 'p2']))) as Row[];
  expect(nested).toEqual(top);
  expect(top[0]).toEqual({
    id: 'p1',
    name: 'One',
    budget: 12.5,
    big: 9007199254740,
    score: 0.1,
    flag: true,
    at: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    day: Date.UTC(2024, 1, 29),
    meta: {a: [1, 'x', null], b: {c: true}},
    tags: ['x', 'y z'],
  });
  expect(top[1]).toMatchObject({at: Infinity, meta: 'just a string', tags: [], budget: null});
  const p3 = (await run(
    zql.task.where('id', 't5').related('project', p => p.where('id', 'p2').one()),
  )) as Row[];
  expect((p3[0]?.['project'] as Row)['at']).toBe(Infinity);
  const minus = (await run(zql.project.where('id', 'p3').related('tasks'))) as Row[];
  expect(minus[0]).toMatchObject({at: -Infinity, score: 1e30, meta: null, tags: null});
});

test('start per relationship, and an infinite timestamp inside a nested row', async () => {
  const {result, statements: n} = await counted(() =>
    run(
      zql.project
        .where('id', 'p1')
        .one()
        .related('tasks', t => t.orderBy('rank', 'asc').start({id: 't1', rank: 1})),
    ),
  );
  expect(n).toBe(1);
  const tasks = (result as Row)['tasks'] as Row[];
  // NULL ranks come first ascending, so after rank 1 come 3 and 5.
  expect(tasks.map(t => [t['id'], t['due']])).toEqual([
    ['t3', Infinity],
    ['t2', null],
  ]);
  expect(result).toEqual(
    await engineResult(
      zql.project
        .where('id', 'p1')
        .one()
        .related('tasks', t => t.orderBy('rank', 'asc').start({id: 't1', rank: 1})),
    ),
  );
});

test('a condition Postgres cannot evaluate as clients do is refused with a clear error', async () => {
  // The builder's types allow LIKE on strings only; an AST from elsewhere may do more.
  const ast: AST = {
    kind: 'query',
    table: 'task',
    where: {
      kind: 'simple',
      op: 'LIKE',
      left: {kind: 'column', name: 'rank'},
      right: {kind: 'literal', value: '1%'},
    },
  };
  await expect(run(ast)).rejects.toThrow(
    /cannot be read from Postgres exactly.*LIKE on a number column \("rank"\)/,
  );
});

test('a related row wider than one json_build_object call (50 pairs) keeps every column', async () => {
  const names = Array.from({length: 60}, (_, i) => `c${i}`);
  const wide = table('wide')
    .columns({id: string(), ...Object.fromEntries(names.map(n => [n, number()]))})
    .primaryKey('id');
  const holder = table('holder')
    .columns({id: string(), wideID: string().from('wide_id')})
    .primaryKey('id');
  const wideSchema = createSchema({
    tables: [wide, holder],
    relationships: [
      relationships(holder, ({one}) => ({
        wide: one({sourceField: ['wideID'], destField: ['id'], destSchema: wide}),
      })),
    ],
  });
  await pool.query(`
    CREATE TABLE wide (id TEXT PRIMARY KEY, ${names.map(n => `${n} INT NOT NULL`).join(', ')});
    CREATE TABLE holder (id TEXT PRIMARY KEY, wide_id TEXT NOT NULL);
    INSERT INTO wide VALUES ('w', ${names.map((_, i) => i).join(', ')});
    INSERT INTO holder VALUES ('h', 'w');`);
  const wideDB = new ZQLDatabase(new NodePgConnection(pool), wideSchema);
  const q = createBuilder(wideSchema).holder.related('wide', w => w.one());
  const rows = (await wideDB.transaction(tx => tx.run(q))) as Row[];
  expect(rows[0]?.['wide']).toEqual({id: 'w', ...Object.fromEntries(names.map((n, i) => [n, i]))});
});
