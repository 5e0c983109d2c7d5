// Write rules with EXISTS: answered by one `SELECT EXISTS (…)` per EXISTS of the rule
// (nested EXISTS inside it included) when the compiler is exact, and by reading candidate
// rows and evaluating the rule in JS when it is not (here: strings the write rules order by
// UTF-16 unit, which Postgres cannot).
import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {
  bindPermissions,
  createSchema,
  definePermissions,
  json,
  number,
  relationships,
  string,
  table,
} from '@zync/zql';
import {createTestDatabase} from '../../../../test/pg.ts';
import {PgCatalog, type Queryable} from '@zync/pg';
import {BoundWriteAuthorizer} from './write-authorizer.ts';

const org = table('org').columns({id: string(), name: string()}).primaryKey('id');
const project = table('project')
  .columns({
    id: string(),
    orgID: string().from('org_id'),
    ownerID: string().from('owner_id'),
    name: string(),
    rank: number().optional(),
    meta: json().optional(),
  })
  .primaryKey('id');
const issue = table('issue')
  .columns({id: string(), projectID: string().from('project_id'), title: string()})
  .primaryKey('id');
const schema = createSchema({
  tables: [org, project, issue],
  relationships: [
    relationships(issue, ({one}) => ({
      project: one({sourceField: ['projectID'], destField: ['id'], destSchema: project}),
    })),
    relationships(project, ({one}) => ({
      org: one({sourceField: ['orgID'], destField: ['id'], destSchema: org}),
    })),
  ],
});
type Claims = {sub: string};

let pool: pg.Pool;
let statements = 0;
const db: Queryable = {
  query: (sql: string, params?: unknown[]) => {
    statements++;
    return pool.query(sql, params);
  },
};
let authorizer: BoundWriteAuthorizer;

beforeAll(async () => {
  pool = new pg.Pool({connectionString: await createTestDatabase('write_authorizer')});
  await pool.query(`
    CREATE TABLE org (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE project (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, owner_id TEXT NOT NULL,
      name TEXT NOT NULL, rank INT8, meta JSONB);
    CREATE TABLE issue (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, title TEXT NOT NULL);
    INSERT INTO org VALUES ('o1', 'Acme'), ('o2', 'acme');
    INSERT INTO project VALUES
      ('p1', 'o1', 'u1', 'plain', 5, '{"k": 1}'), ('p2', 'o2', 'u1', 'plain', 5, NULL),
      ('p3', 'o1', 'u1', '😀', NULL, NULL), ('p4', 'o1', 'u1', '\uf000', NULL, NULL),
      ('p5', 'o1', 'u1', 'plain', 5, NULL), ('p6', 'o1', 'u1', 'plain', 5, 'null');`);
  const permissions = await definePermissions<Claims, typeof schema>(schema, () => ({
    issue: {
      row: {
        // Nested EXISTS, ILIKE, a bigint compared as a number, a json column's IS NOT NULL:
        // all exact in Postgres.
        delete: [
          (a, {exists}) =>
            exists('project', p =>
              p
                .where('ownerID', a.sub)
                .where('rank', '>=', 5)
                // The builder's types leave json columns out of where(); the AST takes them.
                .where('meta' as 'rank', 'IS NOT', null)
                .whereExists('org', o => o.where('name', 'LIKE', 'A%')),
            ),
        ],
        // The write rules order strings by UTF-16 unit: '😀' sorts below U+F000 there, above
        // it by code point. Postgres cannot decide, so the rule runs in JS on candidates.
        insert: [(_a, {exists}) => exists('project', p => p.where('name', '>', '\ue000'))],
      },
    },
  }));
  authorizer = new BoundWriteAuthorizer(bindPermissions(permissions, {sub: 'u1'}), new PgCatalog());
  // Reads the catalog once, so that the statements counted below are the checks' own.
  await authorizer.check(db, 'delete', 'issue', {id: 'i0', project_id: 'p1', title: 't'});
});

afterAll(async () => {
  await pool.end();
});

async function allowed(action: 'delete' | 'insert', projectID: string): Promise<boolean> {
  try {
    await authorizer.check(db, action, 'issue', {id: 'i', project_id: projectID, title: 't'});
    return true;
  } catch (e) {
    expect((e as {kind?: string}).kind).toBe('permission');
    return false;
  }
}

test('an EXISTS with a nested EXISTS is one statement', async () => {
  const before = statements;
  expect(await allowed('delete', 'p1')).toBe(true);
  expect(statements - before).toBe(1);
  // Case-sensitive LIKE in the nested EXISTS: org o2 is 'acme'.
  expect(await allowed('delete', 'p2')).toBe(false);
  // rank NULL, meta NULL.
  expect(await allowed('delete', 'p3')).toBe(false);
  // meta NULL, and meta JSON null (which the rule sees as null too).
  expect(await allowed('delete', 'p5')).toBe(false);
  expect(await allowed('delete', 'p6')).toBe(false);
  expect(await allowed('delete', 'missing')).toBe(false);
});

test('where SQL cannot be exact, the rule decides on the candidate rows', async () => {
  expect(await allowed('insert', 'p4')).toBe(true);
  // Code point order would say '😀' > U+E000; the write rules say it is not.
  expect(await allowed('insert', 'p3')).toBe(false);
  expect(await allowed('insert', 'p1')).toBe(false);
});
