// Property: over random select rules, claims, rows, queries and later upstream changes, no
// row that a rule denies ever reaches a client. Runs the real path: the preparer's AST over
// a SQLite replica through the engine query driver, incremental changes included. The
// oracle evaluates the rules itself, in plain JavaScript, on server-named rows.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import fc from 'fast-check';
import type {AST, Condition} from '@zync/protocol';
import {
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  number,
  relationships,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {afterAll, expect, test} from 'vitest';
import {EngineQueryDriver} from '../view-syncer/engine-query-driver.ts';
import {Snapshotter} from '../sqlite-engine/snapshotter.ts';
import {TestReplica} from '../../test/sqlite-test-replica.ts';
import {SelectPermissions} from './select-permissions.ts';

const issue = table('issue')
  .from('issues')
  .columns({
    id: string(),
    ownerID: string().from('owner_id'),
    orgID: string().from('org_id'),
    rank: number(),
  })
  .primaryKey('id');
const comment = table('comment')
  .columns({
    id: string(),
    issueID: string().from('issue_id'),
    authorID: string().from('author_id'),
    rank: number(),
  })
  .primaryKey('id');
const schema = createSchema({
  tables: [issue, comment],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
    relationships(comment, ({one}) => ({
      issue: one({sourceField: ['issueID'], destField: ['id'], destSchema: issue}),
    })),
  ],
});
type S = typeof schema;
type Claims = {sub?: string; orgs?: string[]; role?: string; org?: {admin?: boolean}};

const USERS = ['u1', 'u2', 'u3'];
const ORGS = ['o1', 'o2', 'o3'];
type Rule =
  | {kind: 'owner'}
  | {kind: 'orgIn'}
  | {kind: 'role'; role: string}
  | {kind: 'rank'; below: number}
  | {kind: 'nestedAdmin'};
const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc.constant({kind: 'owner'} as const),
  fc.constant({kind: 'orgIn'} as const),
  fc.constantFrom('admin', 'member').map(role => ({kind: 'role', role}) as const),
  fc.integer({min: 0, max: 10}).map(below => ({kind: 'rank', below}) as const),
  fc.constant({kind: 'nestedAdmin'} as const),
);
const claimsArb: fc.Arbitrary<Claims> = fc.record(
  {
    sub: fc.constantFrom(...USERS),
    orgs: fc.subarray(ORGS),
    role: fc.constantFrom('admin', 'member'),
    org: fc.record({admin: fc.boolean()}, {requiredKeys: []}),
  },
  {requiredKeys: []},
);
const issueArb = fc.record({
  owner_id: fc.constantFrom(...USERS),
  org_id: fc.constantFrom(...ORGS),
  rank: fc.integer({min: 0, max: 10}),
});
const commentArb = fc.record({
  issue: fc.nat(7),
  author_id: fc.constantFrom(...USERS),
  rank: fc.integer({min: 0, max: 10}),
});

type AnyEB = ExpressionBuilder<S, 'issue'>;
function toRule(r: Rule, ownerCol: 'ownerID' | 'authorID') {
  return (a: Claims, eb: AnyEB): Condition => {
    const cmp = eb.cmp as unknown as (c: string, op: string, v: unknown) => Condition;
    switch (r.kind) {
      case 'owner':
        return cmp(ownerCol, '=', a.sub);
      case 'orgIn':
        return ownerCol === 'ownerID' ? cmp('orgID', 'IN', a.orgs ?? []) : eb.or();
      case 'role':
        return eb.cmpLit(a.role ?? null, '=', r.role);
      case 'rank':
        return cmp('rank', '<', r.below);
      case 'nestedAdmin':
        return eb.cmpLit(a.org?.admin ?? null, '=', true);
    }
  };
}

/** The oracle: does the rule allow this (server-named) row for these claims? */
function allows(r: Rule, row: Record<string, unknown>, a: Claims, ownerCol: string): boolean {
  switch (r.kind) {
    case 'owner':
      return a.sub !== undefined && row[ownerCol] === a.sub;
    case 'orgIn':
      return ownerCol === 'owner_id' && (a.orgs ?? []).includes(row['org_id'] as string);
    case 'role':
      return a.role === r.role;
    case 'rank':
      return (row['rank'] as number) < r.below;
    case 'nestedAdmin':
      return a.org?.admin === true;
  }
}

const q = createBuilder(schema);
const QUERIES: AST[] = [
  q.issue.ast,
  q.issue.related('comments').ast,
  q.comment.related('issue').ast,
  q.issue.whereExists('comments').related('comments', c => c.related('issue')).ast,
  q.comment.whereExists('issue', i => i.where('rank', '>', 2)).ast,
  q.issue
    .orderBy('rank', 'desc')
    .limit(3)
    .related('comments', c => c.limit(2)).ast,
].map(a => mapAST(a, schema, 'server'));

const dir = mkdtempSync(join(tmpdir(), 'zync-perm-prop-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));
let fileN = 0;

test('no row a rule denies ever reaches a client (hydration and incremental changes)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(ruleArb, {maxLength: 3}),
      fc.array(ruleArb, {maxLength: 3}),
      claimsArb,
      fc.array(issueArb, {minLength: 1, maxLength: 8}),
      fc.array(commentArb, {maxLength: 10}),
      fc.integer({min: 0, max: QUERIES.length - 1}),
      fc.array(fc.tuple(fc.nat(7), issueArb), {maxLength: 4}),
      async (issueRules, commentRules, claims, issues, comments, qi, edits) => {
        const permissions = await definePermissions<Claims, S>(schema, () => ({
          issue: {row: {select: issueRules.map(r => toRule(r, 'ownerID'))}},
          comment: {
            row: {select: commentRules.map(r => toRule(r, 'authorID') as never)},
          },
        }));
        const file = join(dir, `r${fileN++}.db`);
        const replica = new TestReplica(file, [
          {
            name: 'issues',
            columns: {id: 'text', owner_id: 'text', org_id: 'text', rank: 'int4'},
            primaryKey: ['id'],
          },
          {
            name: 'comment',
            columns: {id: 'text', issue_id: 'text', author_id: 'text', rank: 'int4'},
            primaryKey: ['id'],
          },
        ]);
        replica.apply([
          ...issues.map((r, i) => ({
            table: 'issues',
            change: {type: 'add' as const, row: {id: `i${i}`, ...r}},
          })),
          ...comments.map((c, i) => ({
            table: 'comment',
            change: {
              type: 'add' as const,
              row: {id: `c${i}`, issue_id: `i${c.issue}`, author_id: c.author_id, rank: c.rank},
            },
          })),
        ]);
        const driver = new EngineQueryDriver(batcher => new Snapshotter(file, {batcher}));
        try {
          const sp = new SelectPermissions({permissions, claims: 'verified'});
          const ctx = {
            clientID: 'c',
            clientGroupID: 'g',
            userID: 'u',
            authData: claims,
            token: 't',
          };
          const ast = sp.apply(QUERIES[qi]!, ctx);
          const allowed = (t: string, row: Record<string, unknown>) =>
            t === 'issues'
              ? issueRules.some(r => allows(r, row, claims, 'owner_id'))
              : commentRules.some(r => allows(r, row, claims, 'author_id'));
          const client = new Map<string, {table: string; row: Record<string, unknown>}>();
          for (const r of await driver.addQuery('h', ast)) {
            client.set(`${r.table}/${JSON.stringify(r.id)}`, {table: r.table, row: r.row});
          }
          const check = () => {
            for (const {table, row} of client.values()) expect(allowed(table, row)).toBe(true);
          };
          check();
          if (qi === 0) {
            // The plain root query is also complete: every allowed issue arrives.
            const want = issues
              .map((r, i) => ({id: `i${i}`, ...r}))
              .filter(r => allowed('issues', r))
              .map(r => `issues/${JSON.stringify({id: r.id})}`)
              .sort();
            expect([...client.keys()].sort()).toEqual(want);
          }
          for (const [i, next] of edits) {
            if (i >= issues.length) continue;
            const old = {id: `i${i}`, ...issues[i]!};
            const row = {id: `i${i}`, ...next};
            issues[i] = next;
            replica.apply([{table: 'issues', change: {type: 'edit', oldRow: old, row}}]);
            const res = await driver.advance();
            for (const c of res.changes.get('h') ?? []) {
              const key = `${c.table}/${JSON.stringify(c.id)}`;
              if (c.type === 'remove') client.delete(key);
              else client.set(key, {table: c.table, row: c.row});
            }
            check();
          }
        } finally {
          driver.destroy();
          replica.close();
        }
      },
    ),
    {numRuns: 150},
  );
}, 60_000);
