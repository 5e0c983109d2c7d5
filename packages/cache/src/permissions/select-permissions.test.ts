import type {AST, Condition} from '@zync/protocol';
import {
  ANYONE_CAN,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  relationships,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {describe, expect, test} from 'vitest';
import type {QueryContext} from '../view-syncer/group-client.ts';
import {PermissionsError} from './permissions-error.ts';
import {SelectPermissions, tablesOf} from './select-permissions.ts';

const issue = table('issue')
  .from('issues')
  .columns({
    id: string(),
    ownerID: string().from('owner_id'),
    orgID: string().from('org_id'),
    vis: string(),
  })
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id'), authorID: string()})
  .primaryKey('id');
const label = table('label').columns({id: string(), name: string()}).primaryKey('id');
const issueLabel = table('issueLabel')
  .from('issue_label')
  .columns({issueID: string().from('issue_id'), labelID: string().from('label_id')})
  .primaryKey('issueID', 'labelID');
export const schema = createSchema({
  tables: [issue, comment, label, issueLabel],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
      labels: many(
        {sourceField: ['id'], destField: ['issueID'], destSchema: issueLabel},
        {sourceField: ['labelID'], destField: ['id'], destSchema: label},
      ),
    })),
  ],
});
type S = typeof schema;
type Claims = {sub?: string; orgs?: string[]; org?: {role?: string}; role?: string};

const permissions = definePermissions<Claims, S>(schema, () => ({
  issue: {
    row: {
      select: [
        (a, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('ownerID', '=', a.sub as string),
        (a, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('orgID', 'IN', a.orgs ?? []),
        (a, {cmpLit}: ExpressionBuilder<S, 'issue'>) => cmpLit(a.org?.role ?? null, '=', 'admin'),
        (_a, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('vis', 'public'),
      ],
    },
  },
  comment: {
    row: {
      select: [
        (a, {cmpLit}: ExpressionBuilder<S, 'comment'>) => cmpLit(a.sub ?? null, 'IS NOT', null),
      ],
    },
  },
  label: {row: {select: ANYONE_CAN}},
  // issueLabel: no policy, so no rows.
}));

const q = createBuilder(schema);
const server = (ast: AST) => mapAST(ast, schema, 'server');

function ctx(authData: QueryContext['authData'], token?: string): QueryContext {
  return {clientID: 'c', clientGroupID: 'g', userID: 'u', authData, token};
}

async function sp(claims: 'verified' | 'opaque' = 'verified') {
  return new SelectPermissions({permissions: await permissions, claims});
}

/** Every where of every level (client names), for checking. */
function levels(ast: AST): AST[] {
  const out: AST[] = [ast];
  const cond = (c: Condition | undefined): void => {
    if (!c) return;
    if (c.kind === 'and' || c.kind === 'or') c.conditions.forEach(cond);
    if (c.kind === 'exists') out.push(...levels(c.related.subquery));
  };
  cond(ast.where);
  for (const r of ast.related ?? []) out.push(...levels(r.subquery));
  return out;
}

describe('SelectPermissions.apply', () => {
  test('string, array and nested claims become the root filter (server names out)', async () => {
    const p = await sp();
    const out = p.apply(server(q.issue.ast), ctx({sub: 'u1', orgs: ['o1', 'o2']}));
    expect(out.table).toBe('issues');
    const text = JSON.stringify(out.where);
    expect(text).toContain('"owner_id"');
    expect(text).toContain('"u1"');
    expect(text).toContain('["o1","o2"]');
    expect(text).toContain('"public"');
    // Nested claim: admin allows every row.
    const admin = p.apply(server(q.issue.ast), ctx({org: {role: 'admin'}}));
    expect(admin.where).toBeUndefined();
  });

  test('a missing claim compares as null; anonymous sees only what needs no claims', async () => {
    const p = await sp();
    const anon = mapAST(p.apply(server(q.issue.ast), ctx({})), schema, 'client');
    // ownerID = null (a missing sub) matches no row; the orgs rule folds away; vis stays.
    const text = JSON.stringify(anon.where);
    expect(text).toContain('{"kind":"literal","value":null}');
    expect(text).toContain('"public"');
    expect(text).not.toContain('orgID');
    const comments = p.apply(server(q.comment.ast), ctx({}));
    expect(comments.where).toEqual({kind: 'or', conditions: []});
  });

  test('every level gets its table filter: related, exists, junction hops', async () => {
    const p = await sp();
    const ast = q.issue
      .related('comments')
      .related('labels')
      .whereExists('comments', c => c.where('authorID', 'x'))
      .whereExists('labels').ast;
    const out = mapAST(p.apply(server(ast), ctx({})), schema, 'client');
    const all = levels(out);
    expect(new Set(all.map(a => a.table))).toEqual(
      new Set(['issue', 'comment', 'issueLabel', 'label']),
    );
    for (const level of all) {
      const w = JSON.stringify(level.where ?? null);
      if (level.table === 'comment' || level.table === 'issueLabel') {
        expect(w).toContain('{"kind":"or","conditions":[]}');
      }
      if (level.table === 'issue') expect(w).toContain('"public"');
    }
  });

  test('opaque tokens: a table whose rules read claims is refused; others are not', async () => {
    const p = await sp('opaque');
    expect([...p.tablesNeedingClaims].sort()).toEqual(['comment', 'issue']);
    expect(() => p.apply(server(q.issue.ast), ctx({}, 'tok'))).toThrow(PermissionsError);
    expect(() => p.apply(server(q.label.related('x' as never).ast), ctx({}, 'tok'))).toThrow();
    expect(p.apply(server(q.label.ast), ctx({}, 'tok')).table).toBe('label');
    // No token: anonymous, rules see {}.
    expect(p.apply(server(q.issue.ast), ctx({})).where).toBeDefined();
    const prepared = await p.prepare(
      {hash: 'h', ast: server(q.issue.related('comments').ast)},
      ctx({}, 't'),
    );
    expect(prepared).toMatchObject({ok: false, error: {hash: 'h', kind: 'refused'}});
    if (!prepared.ok) {
      expect(prepared.error.message).toMatch(/"issue", "comment" read the JWT claims/);
      expect(prepared.error.message).toMatch(/ZERO_AUTH_SECRET/);
    }
  });

  test('unknown names are refused; name+args queries pass through; no permissions = no filter', async () => {
    const p = await sp();
    const bad = await p.prepare({hash: 'h', ast: {kind: 'query', table: 'nope'}}, ctx({}));
    expect(bad).toMatchObject({ok: false, error: {kind: 'refused'}});
    const named = await p.prepare({hash: 'h2', name: 'n', args: []}, ctx({}));
    expect(named).toMatchObject({ok: false, error: {kind: 'unknown-query'}});
    const none = new SelectPermissions({permissions: undefined, claims: 'verified'});
    const ast = server(q.issue.ast);
    expect(none.apply(ast, ctx({}))).toBe(ast);
    const after = p.after(() => Promise.resolve({ok: true, ast}));
    expect(await after({hash: 'h3', name: 'n'}, ctx({sub: 'u1'}))).toMatchObject({
      ok: true,
      ast: {table: 'issues', where: {kind: 'or'}},
    });
  });

  test('bound permissions are cached per distinct claims (key order does not matter)', async () => {
    const p = await sp();
    const a = p.bound({sub: 'u1', orgs: ['o']});
    expect(p.bound({orgs: ['o'], sub: 'u1'})).toBe(a);
    expect(p.bound({sub: 'u2'})).not.toBe(a);
  });

  test('tablesOf sees every level', () => {
    const ast = q.issue.related('labels').whereExists('comments').ast;
    expect([...tablesOf(ast)].sort()).toEqual(['comment', 'issue', 'issueLabel', 'label']);
  });
});
