// analyzeQuery over a replica file written as the replicator writes it (no Postgres): the
// statements and plans it reports, the rows it counts, the indexes it finds missing, and
// how it prepares a query (permissions, budget, AST input).
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {silentLogger} from '@zync/shared';
import {
  ANYONE_CAN,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  number,
  relationships,
  string,
  table,
} from '@zync/zql';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {TestReplica} from '../../test/sqlite-test-replica.ts';
import {DEFAULT_QUERY_BUDGET} from '../view-syncer/query-budget.ts';
import {AnalyzeError} from './analyze-error.ts';
import {analyzeQuery, type AnalyzeInput, type AnalyzeQueryOptions} from './analyze-query.ts';
import {reportText} from './report-text.ts';

const issue = table('issue')
  .columns({id: string(), status: string(), rank: number(), ownerID: string().from('owner_id')})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id'), body: string()})
  .primaryKey('id');
const schema = createSchema({
  tables: [issue, comment],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
  ],
});

const ISSUES = 1000;
const dir = mkdtempSync(join(tmpdir(), 'zync-analyze-'));
const file = join(dir, 'replica.db');

beforeAll(() => {
  const r = new TestReplica(file, [
    {
      name: 'issue',
      columns: {id: 'text', status: 'text', rank: 'int4', owner_id: 'text'},
      primaryKey: ['id'],
    },
    {name: 'comment', columns: {id: 'text', issue_id: 'text', body: 'text'}, primaryKey: ['id']},
  ]);
  const changes = [];
  for (let i = 0; i < ISSUES; i++) {
    const row = {
      id: `i${i}`,
      status: i % 10 === 0 ? 'open' : 'closed',
      rank: i,
      owner_id: `u${i % 4}`,
    };
    changes.push({table: 'issue', change: {type: 'add' as const, row}});
  }
  for (let i = 0; i < 300; i++) {
    const row = {id: `c${i}`, issue_id: `i${i % 100}`, body: `b${i}`};
    changes.push({table: 'comment', change: {type: 'add' as const, row}});
  }
  r.apply(changes);
  r.close();
});

afterAll(() => rmSync(dir, {recursive: true, force: true}));

function options(
  input: AnalyzeInput,
  more: Partial<AnalyzeQueryOptions> = {},
): AnalyzeQueryOptions {
  return {
    replicaFile: file,
    schema,
    permissions: undefined,
    applyPermissions: true,
    authData: {},
    userID: 'anon',
    token: undefined,
    input,
    budget: DEFAULT_QUERY_BUDGET,
    maxHydrationRows: 1_000_000,
    syncedQueries: undefined,
    legacyQueries: true,
    logger: silentLogger,
    ...more,
  };
}

const zql = (text: string, more?: Partial<AnalyzeQueryOptions>) =>
  analyzeQuery(options({kind: 'zql', text}, more));

function withIndex<T>(sql: string, name: string, fn: () => Promise<T>): Promise<T> {
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return fn().finally(() => {
    const d = new Database(file);
    d.exec(`DROP INDEX "${name}"`);
    d.close();
  });
}

describe('plans and missing indexes', () => {
  test('a filter no index serves is a scan with a suggested index; the index makes it a search', async () => {
    const before = await zql(`issue.where("status", "open")`);
    expect(before.syncedRows).toBe(ISSUES / 10);
    expect(before.totalMs).toBe(before.prepareMs + before.hydrateMs);
    expect(before.statements).toHaveLength(1);
    const [s] = before.statements;
    expect(s!.sql).toMatch(/FROM "issue" WHERE \("status" = \?\) ORDER BY "id" ASC$/);
    expect(s!.access).toBe('scan');
    expect(s!.plan.map(p => p.detail).join('\n')).toMatch(/^SCAN issue/);
    expect(before.missingIndexes).toEqual([
      expect.objectContaining({
        table: 'issue',
        columns: ['status'],
        createIndex: 'CREATE INDEX ON "issue" ("status");',
        tableRows: ISSUES,
      }),
    ]);
    expect(reportText(before)).toContain('CREATE INDEX ON "issue" ("status");');

    // The index as the replicator mirrors an upstream one: key columns, then the primary key.
    const after = await withIndex(
      `CREATE INDEX "issue__status" ON "issue" ("status", "id")`,
      'issue__status',
      () => zql(`issue.where("status", "open")`),
    );
    expect(after.statements[0]!.access).toBe('search');
    expect(after.statements[0]!.plan.map(p => p.detail).join('\n')).toMatch(
      /SEARCH issue USING INDEX issue__status \(status=\?\)/,
    );
    expect(after.missingIndexes).toEqual([]);
    expect(after.syncedRows).toBe(ISSUES / 10);
    expect(reportText(after)).toContain('Missing indexes: none found.');
  });

  test('a related subquery on an unindexed join key: one statement, run per parent row', async () => {
    const r = await zql(`issue.orderBy("rank", "asc").limit(5).related("comments")`);
    const child = r.statements.find(s => s.table === 'comment');
    expect(child?.sql).toMatch(/WHERE "issue_id" = \? ORDER BY "id" ASC$/);
    expect(child?.executions).toBe(5);
    expect(r.syncedRowsByTable).toEqual({issue: 5, comment: 15});
    expect(r.rowsReadByTable['comment']).toBe(15);
    expect(r.missingIndexes.map(m => m.createIndex)).toContain(
      'CREATE INDEX ON "comment" ("issue_id");',
    );
    // the ordered limit on issue sorts the whole table
    expect(r.missingIndexes.map(m => m.createIndex)).toContain('CREATE INDEX ON "issue" ("rank");');
  });

  test('equality columns first, then the ordering; a range column instead when there is one', async () => {
    const ordered = await zql(`issue.where("ownerID", "u1").orderBy("rank", "desc")`);
    expect(ordered.missingIndexes.map(m => m.columns)).toEqual([['owner_id', 'rank']]);
    const ranged = await zql(`issue.where("ownerID", "u1").where("rank", ">", 10)`);
    expect(ranged.missingIndexes.map(m => m.columns)).toEqual([['owner_id', 'rank']]);
    const like = await zql(`issue.where("status", "LIKE", "op%")`);
    expect(like.missingIndexes).toEqual([]);
  });

  test('reading a whole table in key order needs no index', async () => {
    const r = await zql(`issue`);
    expect(r.missingIndexes).toEqual([]);
    expect(r.syncedRows).toBe(ISSUES);
    // past the first rows the source reads in pages: every statement and row is counted
    expect(r.rowsRead).toBe(ISSUES);
    expect(r.statements.length).toBeGreaterThan(1);
    expect(r.statements.reduce((n, s) => n + s.rowsRead, 0)).toBe(ISSUES);
  });

  test('an existing index SQLite uses is not suggested again', async () => {
    const r = await withIndex(
      `CREATE INDEX "comment__issue_id" ON "comment" ("issue_id", "id")`,
      'comment__issue_id',
      () => zql(`issue.limit(3).related("comments")`),
    );
    const child = r.statements.find(s => s.table === 'comment');
    expect(child?.access).toBe('search');
    expect(r.missingIndexes).toEqual([]);
  });
});

describe('preparing the query as zero-cache does', () => {
  const permissions = definePermissions<{sub?: string}, typeof schema>(schema, () => ({
    issue: {row: {select: [(a, {cmp}) => cmp('ownerID', a.sub ?? '')]}},
    comment: {row: {select: ANYONE_CAN}},
  }));

  test('select permissions are bound to the auth data; off, every row is read', async () => {
    const perms = await permissions;
    const anon = await zql(`issue`, {permissions: perms});
    expect(anon.permissions.applied).toBe(true);
    expect(anon.syncedRows).toBe(0);
    const u1 = await zql(`issue`, {permissions: perms, authData: {sub: 'u1'}});
    expect(u1.syncedRows).toBe(ISSUES / 4);
    expect(JSON.stringify(u1.query.preparedAST)).toContain('"owner_id"');
    const off = await zql(`issue`, {permissions: perms, applyPermissions: false});
    expect(off.syncedRows).toBe(ISSUES);
    expect(off.notes.join(' ')).toContain('not applied');
  });

  test('a query zero-cache would refuse is an error naming the reason', async () => {
    const err = await zql(`issue.where("status", "IN", ["a", "b", "c"])`, {
      budget: {...DEFAULT_QUERY_BUDGET, maxInListLength: 2},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnalyzeError);
    expect((err as AnalyzeError).kind).toBe('refused');
    expect((err as Error).message).toMatch(/ZERO_QUERY_MAX_IN_LIST_LENGTH/);

    const over = await zql(`issue`, {maxHydrationRows: 50});
    expect(over.refused).toMatch(/ZERO_QUERY_MAX_HYDRATION_ROWS/);
    expect(reportText(over)).toContain('REFUSED');
  });

  test('an AST in server names is run as given; a malformed one is refused clearly', async () => {
    const ast = mapAST(createBuilder(schema).issue.where('ownerID', 'u2').ast, schema, 'server');
    const r = await analyzeQuery(options({kind: 'ast', json: JSON.stringify(ast)}));
    expect(r.syncedRows).toBe(ISSUES / 4);
    expect(r.query.ast).toEqual(ast);

    const bad = async (json: string) => {
      const e = await analyzeQuery(options({kind: 'ast', json})).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AnalyzeError);
      return (e as Error).message;
    };
    expect(await bad('{"kind": "query"')).toMatch(/^--ast: not JSON/);
    expect(await bad('{"kind": "query", "table": 3}')).toMatch(/^--ast: not a query AST at table/);
    expect(await bad('{"kind": "query", "table": "issues"}')).toMatch(
      /^--ast: unknown server table "issues"/,
    );
    // client names are not server names
    const clientNamed = JSON.stringify(createBuilder(schema).issue.where('ownerID', 'u2').ast);
    expect(await bad(clientNamed)).toMatch(/unknown server column "ownerID" in table "issue"/);
  });

  test('a raw query of an app without legacy queries is analyzed, with a note', async () => {
    const r = await zql(`issue.limit(1)`, {legacyQueries: false});
    expect(r.notes.join(' ')).toMatch(/refuses this query from clients/);
  });

  test('a missing replica, or a table it lacks, is a replica error', async () => {
    const missing = await zql(`issue`, {replicaFile: join(dir, 'none.db')}).catch(
      (e: unknown) => e,
    );
    expect((missing as AnalyzeError).kind).toBe('replica');
    expect((missing as Error).message).toMatch(/none\.db does not exist; point --replica-file/);

    const other = join(dir, 'other.db');
    new TestReplica(other, [
      {
        name: 'issue',
        columns: {id: 'text', status: 'text', rank: 'int4', owner_id: 'text'},
        primaryKey: ['id'],
      },
    ]).close();
    const lacks = await zql(`issue.related("comments")`, {replicaFile: other}).catch(
      (e: unknown) => e,
    );
    expect((lacks as AnalyzeError).kind).toBe('replica');
    expect((lacks as Error).message).toMatch(/the table "comment" is not in the replica/);
  });
});
