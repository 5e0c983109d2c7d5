// Cell select rules: queries reading a hidden column are refused; the mask says which
// columns of which rows are left out.
import type {AST} from '@zync/protocol';
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
import {SelectPermissions} from './select-permissions.ts';

const user = table('user')
  .from('users')
  .columns({
    id: string(),
    name: string(),
    email: string().from('e_mail'),
    salary: string(),
    orgID: string().from('org_id'),
    managerID: string().from('manager_id').optional(),
  })
  .primaryKey('id');
const org = table('org').columns({id: string(), name: string()}).primaryKey('id');
const schema = createSchema({
  tables: [user, org],
  relationships: [
    relationships(user, ({one}) => ({
      org: one({sourceField: ['orgID'], destField: ['id'], destSchema: org}),
      manager: one({sourceField: ['managerID'], destField: ['id'], destSchema: user}),
    })),
    relationships(org, ({many}) => ({
      members: many({sourceField: ['id'], destField: ['orgID'], destSchema: user}),
    })),
  ],
});
type S = typeof schema;
type Claims = {sub?: string; role?: string};
type EB = ExpressionBuilder<S, 'user'>;

const permissions = definePermissions<Claims, S>(schema, () => ({
  user: {
    row: {select: ANYONE_CAN},
    cell: {
      // Your own email, or any email for an admin.
      email: {
        select: [
          (a, {cmp}: EB) => cmp('id', a.sub ?? ''),
          (a, {cmpLit}: EB) => cmpLit(a.role ?? null, '=', 'admin'),
        ],
      },
      // Admins only.
      salary: {select: [(a, {cmpLit}: EB) => cmpLit(a.role ?? null, '=', 'admin')]},
      // Everyone: never hidden.
      name: {select: ANYONE_CAN},
      // A rule over other rows: hidden everywhere.
      orgID: {select: [(_a, {exists}: EB) => exists('org')]},
    },
  },
  org: {row: {select: ANYONE_CAN}},
}));

const q = createBuilder(schema);
const server = (ast: AST) => mapAST(ast, schema, 'server');
const ctx = (authData: Claims): QueryContext => ({
  clientID: 'c1',
  clientGroupID: 'g1',
  userID: authData.sub ?? '',
  authData,
  token: 'tok',
});
const alice = ctx({sub: 'alice'});
const admin = ctx({sub: 'root', role: 'admin'});

async function sp() {
  return new SelectPermissions({permissions: await permissions, claims: 'verified'});
}

describe('queries that read a hidden column', () => {
  test.each([
    ['a filter', q.user.where('email', 'a@x'), 'user.email'],
    [
      'a filter in or',
      q.user.where(({or, cmp}) => or(cmp('name', 'a'), cmp('salary', '>', '9'))),
      'user.salary',
    ],
    ['an order', q.user.orderBy('salary', 'desc'), 'user.salary'],
    [
      'a start cursor',
      q.user.orderBy('name', 'asc').start({name: 'a', id: 'x', email: 'e'}),
      'user.email',
    ],
    ['a relationship join', q.user.related('org'), 'user.orgID'],
    ['an exists', q.org.whereExists('members'), 'user.orgID'],
    [
      'a nested filter',
      q.org.related('members', m => m.where('email', 'LIKE', '%@x')),
      'user.email',
    ],
  ])('are refused: %s', async (_what, query, column) => {
    const p = await sp();
    let err: unknown;
    try {
      p.apply(server(query.ast), alice);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PermissionsError);
    expect((err as PermissionsError).kind).toBe('hidden-column');
    expect((err as Error).message).toContain(`"${column}"`);
  });

  test('a QueryError of kind refused names the column', async () => {
    const p = await sp();
    const res = await p.prepare({hash: 'h', ast: server(q.user.where('salary', '1').ast)}, alice);
    expect(res).toEqual({
      ok: false,
      error: {hash: 'h', kind: 'refused', message: expect.stringContaining('"user.salary"')},
    });
  });

  test('are allowed when the rule allows every row for this user, or the column has no rule', async () => {
    const p = await sp();
    // An admin may read every salary and email; name is ANYONE_CAN; managerID has no rule.
    expect(() =>
      p.apply(server(q.user.where('salary', '1').orderBy('email', 'asc').ast), admin),
    ).not.toThrow();
    expect(() =>
      p.apply(server(q.user.where('name', 'a').related('manager').ast), alice),
    ).not.toThrow();
    // orgID's rule reads other rows, so even an admin's join on it is refused.
    expect(() => p.apply(server(q.user.related('org').ast), admin)).toThrow(PermissionsError);
  });
});

describe('the mask of a prepared query', () => {
  const row = {id: 'bob', name: 'Bob', e_mail: 'bob@x', salary: '9', org_id: 'o', manager_id: null};

  test('hides, per row, the columns whose rule denies that row (server names)', async () => {
    const p = await sp();
    const ast = p.apply(server(q.user.ast), alice);
    const mask = p.mask(ast, alice)!;
    expect([...mask.hidden('users', row)].sort()).toEqual(['e_mail', 'org_id', 'salary']);
    expect([...mask.hidden('users', {...row, id: 'alice'})].sort()).toEqual(['org_id', 'salary']);
    expect(mask.hidden('org', {id: 'o', name: 'O'})).toEqual([]);
    const adminMask = p.mask(ast, admin)!;
    expect(adminMask.hidden('users', row)).toEqual(['org_id']);
    expect(adminMask.key).not.toBe(mask.key);
  });

  test('claims unknown (a query loaded from the CVR): every column with a select rule is hidden', async () => {
    const p = await sp();
    const mask = p.mask(server(q.user.ast), undefined)!;
    expect([...mask.hidden('users', {...row, id: 'alice'})].sort()).toEqual([
      'e_mail',
      'name',
      'org_id',
      'salary',
    ]);
  });

  test('opaque tokens: a rule that reads the claims hides its column', async () => {
    const p = new SelectPermissions({permissions: await permissions, claims: 'opaque'});
    const mask = p.mask(server(q.user.ast), alice)!;
    expect([...mask.hidden('users', {...row, id: ''})].sort()).toEqual([
      'e_mail',
      'org_id',
      'salary',
    ]);
    expect(() => p.apply(server(q.user.where('email', 'x').ast), alice)).toThrow(PermissionsError);
  });

  test('no cell rules: no mask', async () => {
    const p = new SelectPermissions({
      permissions: await definePermissions(schema, () => ({user: {row: {select: ANYONE_CAN}}})),
      claims: 'verified',
    });
    expect(p.mask(server(q.user.ast), alice)).toBeUndefined();
    expect(p.mask(server(q.user.ast), undefined)).toBeUndefined();
  });
});
