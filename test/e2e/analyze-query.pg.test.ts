// The analyze-query command from its sources, as an operator runs it: a real Postgres, the
// replica the replicator writes, the app's schema file, and (for a synced query) the app's
// API server. It flags a missing index; after the suggested index is created upstream and
// the replica is copied again, the plan searches the index and nothing is suggested.
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import type pg from 'pg';
import {createSchema, string, table} from '@zync/zql';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {
  pgClient,
  startReplicator,
  tempReplicaFile,
  uniqueAppId,
} from '../../packages/cache/test/replicator-helpers.ts';
import type {Replicator} from '../../packages/cache/src/replicator/replicator.ts';
import {sourceBinArgs} from '../../scripts/source-bin.ts';
import {createTestDatabase} from '../pg.ts';
import {startQueriesApi, type QueriesApi} from './synced-queries-api.ts';

const ISSUES = 2000;
const SCHEMA_TS = `
import {ANYONE_CAN, createSchema, definePermissions, relationships, string, table} from 'zync';
const issue = table('issue')
  .columns({id: string(), title: string(), owner: string(), status: string()})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id'), body: string()})
  .primaryKey('id');
export const schema = createSchema({
  tables: [issue, comment],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
  ],
});
export const permissions = definePermissions<{sub?: string}, typeof schema>(schema, () => ({
  issue: {row: {select: ANYONE_CAN}},
  comment: {row: {select: ANYONE_CAN}},
}));
`;
// The API server helper's resolver builds on issue(id, title, owner).
const apiSchema = createSchema({
  tables: [
    table('issue')
      .columns({id: string(), title: string(), owner: string(), status: string()})
      .primaryKey('id'),
  ],
});

const app = mkdtempSync(join(tmpdir(), 'zync-analyze-app-'));
symlinkSync(resolve(import.meta.dirname, '../../node_modules'), join(app, 'node_modules'), 'dir');
writeFileSync(join(app, 'schema.ts'), SCHEMA_TS);

let url: string;
let upstream: pg.Client;
let replicator: Replicator;
let replicaFile: string;
let appId: string;
let api: QueriesApi;

beforeAll(async () => {
  url = await createTestDatabase('analyze_query');
  upstream = await pgClient(url);
  await upstream.query(`
    CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL,
                        status TEXT NOT NULL);
    CREATE TABLE comment (id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, body TEXT NOT NULL);
    INSERT INTO issue SELECT 'i' || g, 'Issue ' || g, 'u' || (g % 4),
      CASE WHEN g % 100 = 0 THEN 'open' ELSE 'closed' END FROM generate_series(1, ${ISSUES}) g;
    -- 25 comments on each open issue
    INSERT INTO comment SELECT 'c' || g, 'i' || ((g % 20 + 1) * 100), 'text ' || g
      FROM generate_series(1, 500) g;
  `);
  replicaFile = tempReplicaFile();
  appId = uniqueAppId();
  replicator = await startReplicator(url, replicaFile, appId);
  api = await startQueriesApi(apiSchema);
});

afterAll(async () => {
  await api?.close();
  await replicator?.stop();
  await upstream?.end();
  rmSync(app, {recursive: true, force: true});
});

type Result = {status: number | null; stdout: string; stderr: string};

/** Runs the command from source in the app directory (async: the API server is in-process). */
function analyzeQuery(args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, [...sourceBinArgs('analyze-query'), ...args], {
    cwd: app,
    env: {PATH: process.env['PATH'] ?? '', ZERO_REPLICA_FILE: replicaFile, ...env},
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', status => res({status, stdout, stderr}));
  });
}

type Report = {
  syncedRows: number;
  rowsReadByTable: Record<string, number>;
  statements: {table: string; access: string; plan: {detail: string}[]}[];
  missingIndexes: {table: string; columns: string[]; createIndex: string}[];
  query: {ast: unknown};
};

async function report(args: readonly string[], env?: Record<string, string>): Promise<Report> {
  const r = await analyzeQuery(['--json', ...args], env);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

const plans = (r: Report, t: string) =>
  r.statements
    .filter(s => s.table === t)
    .flatMap(s => s.plan.map(p => p.detail))
    .join('\n');

test('a missing index is flagged; created upstream and replicated, the plan searches it', async () => {
  const query = ['--query', 'issue.where("status", "open").related("comments").limit(10)'];
  const before = await report(query);
  expect(before.syncedRows).toBe(10 + 10 * 25);
  expect(plans(before, 'issue')).toMatch(/^SCAN issue/m);
  expect(plans(before, 'issue')).not.toMatch(/SEARCH issue/);
  const suggested = before.missingIndexes.find(m => m.table === 'issue');
  expect(suggested).toEqual({
    table: 'issue',
    columns: ['status'],
    createIndex: 'CREATE INDEX ON "issue" ("status");',
    reason: expect.stringMatching(/filters on status/) as unknown,
    rowsRead: expect.any(Number) as unknown,
    tableRows: ISSUES,
    statements: [expect.stringMatching(/FROM "issue" WHERE \("status" = \?\)/)],
  });
  expect(before.missingIndexes.map(m => m.createIndex)).toContain(
    'CREATE INDEX ON "comment" ("issue_id");',
  );

  // The operator runs the suggestions upstream; the replica mirrors upstream indexes when it
  // copies a table, so zero-cache's replica is copied again (docs/replica.md).
  for (const m of before.missingIndexes) await upstream.query(m.createIndex);
  await replicator.stop();
  rmSync(replicaFile, {force: true});
  rmSync(`${replicaFile}-wal`, {force: true});
  rmSync(`${replicaFile}-shm`, {force: true});
  replicator = await startReplicator(url, replicaFile, appId);

  const after = await report(query);
  expect(after.syncedRows).toBe(before.syncedRows);
  expect(plans(after, 'issue')).toMatch(
    /SEARCH issue USING (COVERING )?INDEX issue__status \(status=\?\)/,
  );
  expect(plans(after, 'comment')).toMatch(
    /SEARCH comment USING (COVERING )?INDEX comment__issue_id/,
  );
  expect(after.statements.every(s => s.access === 'search')).toBe(true);
  expect(after.missingIndexes).toEqual([]);

  const text = await analyzeQuery(query);
  expect(text.status).toBe(0);
  expect(text.stdout).toMatch(/^Synced rows {2}260 {2}\(issue 10, comment 250\)$/m);
  expect(text.stdout).toMatch(/^Rows read {4}\d+ {2}\(issue \d+ of 2000, comment \d+ of 500\)$/m);
  expect(text.stdout).toMatch(/^Time {9}[\d.]+ ms: [\d.]+ ms to prepare, [\d.]+ ms to hydrate$/m);
  expect(text.stdout).toContain('SEARCH issue USING');
  expect(text.stdout).toContain('Missing indexes: none found.');
});

describe('a synced query, resolved by the API server with the forwarded token', () => {
  test('its AST is the one the API server builds for that user', async () => {
    api.state.tokens.set('tok-u1', 'u1');
    const tokenFile = join(app, 'token');
    writeFileSync(tokenFile, 'tok-u1\n');
    const r = await report(
      ['--query-name', 'issues', '--query-args', '["Issue 1"]', '--auth-token-file', tokenFile],
      {ZERO_QUERY_URL: api.url},
    );
    const request = api.requests.at(-1)!;
    expect(request.headers.authorization).toBe('Bearer tok-u1');
    expect(request.body).toEqual([
      'transform',
      [expect.objectContaining({name: 'issues', args: ['Issue 1']})],
    ]);
    expect(JSON.stringify(r.query.ast)).toContain('"u1"');
    // titles containing "Issue 1" owned by u1 (g % 4 = 1)
    const {rows} = await upstream.query<{n: string}>(
      `SELECT count(*) AS n FROM issue WHERE title LIKE '%Issue 1%' AND owner = 'u1'`,
    );
    expect(r.syncedRows).toBe(Number(rows[0]!.n));
    expect(r.missingIndexes.map(m => m.columns[0])).toContain('owner');
  });

  test('a refused token, or no API server configured, is one line and exit code 1', async () => {
    const tokenFile = join(app, 'bad-token');
    writeFileSync(tokenFile, 'nobody');
    const refused = await analyzeQuery(
      ['--query-name', 'issues', '--query-args', '["x"]', '--auth-token-file', tokenFile],
      {ZERO_QUERY_URL: api.url},
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^analyze-query: the API server refused the credentials/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).not.toContain('nobody');

    const none = await analyzeQuery(['--query-name', 'issues']);
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(
      'analyze-query: --query-name needs the API server: set ZERO_QUERY_URL (or ZERO_GET_QUERIES_URL) as for zero-cache\n',
    );
  });
});

describe('bad input: one line on stderr naming the problem, exit code 1, nothing on stdout', () => {
  test.each([
    [
      ['--query', 'issues.limit(1)'],
      /^analyze-query: --query: unknown table "issues"; a query starts with a table of the schema \(issue, comment\) \(at character 1\)$/,
    ],
    [
      ['--query', 'issue.where("nope", 1)'],
      /^analyze-query: --query: where\(\): unknown column "nope" in table "issue" \(at character 12\)$/,
    ],
    [
      ['--query', 'issue.where("status", "open"'],
      /^analyze-query: --query: expected "\)" to close the arguments, found the end of the query/,
    ],
    [
      ['--ast', '{"kind": "query", "table": "issue", "limit": "ten"}'],
      /^analyze-query: --ast: not a query AST at limit/,
    ],
    [
      [],
      /^analyze-query: give the query to analyze: --query <zql>, --ast <json> or --query-name <name>$/,
    ],
    [
      ['--query', 'issue', '--auth-data', '[1]'],
      /^analyze-query: --auth-data must be a JSON object of claims/,
    ],
    [['--query', 'issue', '--bogus'], /^analyze-query: unknown flag --bogus \(see --help\)$/],
    [
      ['--query', 'issue', '--replica-file', 'nowhere.db'],
      /^analyze-query: the replica file .*nowhere\.db does not exist; point --replica-file/,
    ],
    [
      ['--query', 'issue', '--schema-path', 'missing.ts'],
      /^analyze-query: schema file .*missing\.ts: the schema file does not exist \(set --schema-path or ZERO_SCHEMA_PATH\)$/,
    ],
  ])('%j', async (args, message) => {
    const r = await analyzeQuery(args);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  test('--help', async () => {
    const r = await analyzeQuery(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: analyze-query');
  });
});
