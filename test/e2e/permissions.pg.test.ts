// Select and write permissions end to end: real Postgres, real zero-cache with the
// permissions preparer and pusher checks, real clients. A fake authenticator maps tokens to
// claims (JWT verification is tested in packages/cache/src/auth).
import {Zero} from '@zync/client';
import {
  ANYONE_CAN,
  createSchema,
  definePermissions,
  relationships,
  string,
  boolean,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, test, vi} from 'vitest';
import type {Authenticator} from '../../packages/cache/src/server/hooks.ts';
import {SelectPermissions} from '../../packages/cache/src/permissions/select-permissions.ts';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const issue = table('issue')
  .columns({
    id: string(),
    title: string(),
    ownerID: string().from('owner_id'),
    orgID: string().from('org_id'),
    vis: string(),
  })
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id'), body: string(), secret: boolean()})
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
type Claims = {sub?: string; orgs?: string[]; org?: {role?: string}};
type IssueEB = ExpressionBuilder<S, 'issue'>;

const isOwner = (a: Claims, {cmp}: IssueEB) => cmp('ownerID', '=', a.sub as string);
const isAdmin = (a: Claims, {cmpLit}: IssueEB) => cmpLit(a.org?.role ?? null, '=', 'admin');
const permissionsPromise = definePermissions<Claims, S>(schema, () => ({
  issue: {
    row: {
      select: [
        isOwner,
        (a, {cmp}: IssueEB) => cmp('orgID', 'IN', a.orgs ?? []),
        isAdmin,
        (_a, {cmp}: IssueEB) => cmp('vis', 'public'),
      ],
      insert: [isOwner],
      update: {preMutation: [isOwner], postMutation: [isOwner]},
      delete: [isAdmin],
    },
  },
  comment: {
    row: {
      select: [
        (_a, {cmp}: ExpressionBuilder<S, 'comment'>) => cmp('secret', false),
        (a, {cmpLit}: ExpressionBuilder<S, 'comment'>) => cmpLit(a.org?.role ?? null, '=', 'admin'),
      ],
      insert: ANYONE_CAN,
    },
  },
}));

const TOKENS: Record<string, Claims> = {
  alice: {sub: 'u1', orgs: ['o2']},
  bob: {sub: 'u2'},
  bobInO1: {sub: 'u2', orgs: ['o1']},
  admin: {sub: 'u9', org: {role: 'admin'}},
};
const authenticate: Authenticator = connect => {
  if (connect.auth === undefined)
    return Promise.resolve({ok: true, authData: {}, tokenExpiresAt: null});
  const claims = TOKENS[connect.auth];
  return Promise.resolve(
    claims
      ? {ok: true, authData: claims, tokenExpiresAt: null}
      : {ok: false, kind: 'AuthInvalidated', message: 'unknown test token'},
  );
};

let db: pg.Client;
let zc: StartedZeroCache;
type Z = Zero<S>;
const zeros: Z[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('e2e_permissions');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`
    CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner_id TEXT NOT NULL,
                        org_id TEXT NOT NULL, vis TEXT NOT NULL);
    CREATE TABLE comment (id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, body TEXT NOT NULL,
                          secret BOOLEAN NOT NULL);
    INSERT INTO issue VALUES
      ('i1', 'one', 'u1', 'o1', 'private'), ('i2', 'two', 'u2', 'o2', 'private'),
      ('i3', 'three', 'u3', 'o3', 'public'), ('i4', 'four', 'u4', 'o9', 'private');
    INSERT INTO comment VALUES
      ('c1', 'i1', 'on one', false), ('c2', 'i2', 'secret on two', true),
      ('c3', 'i3', 'secret on three', true), ('c4', 'i3', 'on three', false),
      ('c5', 'i4', 'on four', false);
  `);
  const permissions = await permissionsPromise;
  const select = new SelectPermissions({permissions, claims: 'verified'});
  zc = await startZeroCache(url, {
    // A key makes the pusher treat claims as verified (CRUD allowed); the fake
    // authenticator above replaces JWT verification.
    env: {ZERO_AUTH_SECRET: 'permissions-e2e-secret-0123456789abcdef'},
    hooks: {authenticate, prepareQuery: select.prepare, permissions},
  });
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await db?.end();
});

function client(auth?: string, userID = auth ?? 'anon'): Z {
  const z = new Zero({server: zc.url, userID, schema, kvStore: 'mem', ...(auth ? {auth} : {})});
  zeros.push(z);
  return z;
}

type View = {data: unknown; resultType: string};
async function complete(v: View): Promise<void> {
  await vi.waitFor(() => expect(v.resultType).toBe('complete'), {timeout: 10_000});
}
const ids = (rows: unknown) => (rows as {id: string}[]).map(r => r.id).sort();

/** Everything the client's local store holds, per table (no filters, local only). */
async function stored(z: Z) {
  return {
    issue: ids(await z.run(z.query.issue)),
    comment: ids(await z.run(z.query.comment)),
  };
}

describe('select permissions', () => {
  test('denied rows never reach the client: root, related and exists subqueries', async () => {
    const z = client('alice');
    const views = [
      z.query.issue.related('comments').materialize(),
      z.query.comment.related('issue').materialize(),
      z.query.issue.whereExists('comments').materialize(),
      z.query.comment.whereExists('issue', i => i.where('vis', 'private')).materialize(),
    ] as unknown as View[];
    for (const v of views) await complete(v);
    // alice: owner of i1, org o2 → i2, public i3; never i4. Comments: not secret only.
    expect(ids(views[0]!.data)).toEqual(['i1', 'i2', 'i3']);
    expect(ids(views[2]!.data)).toEqual(['i1', 'i3']); // i2's only comment is secret
    // c5 is readable, but its issue i4 is not: the exists subquery is filtered too.
    expect(ids(views[3]!.data)).toEqual(['c1']);
    expect(await stored(z)).toEqual({issue: ['i1', 'i2', 'i3'], comment: ['c1', 'c4', 'c5']});
  });

  test('anonymous: rules see no claims (a missing claim compares as null)', async () => {
    const z = client();
    const v = z.query.issue.related('comments').materialize() as unknown as View;
    await complete(v);
    expect(await stored(z)).toEqual({issue: ['i3'], comment: ['c4']});
  });

  test('nested claim: admin sees everything', async () => {
    const z = client('admin');
    const v = z.query.issue.related('comments').materialize() as unknown as View;
    await complete(v);
    expect(await stored(z)).toEqual({
      issue: ['i1', 'i2', 'i3', 'i4'],
      comment: ['c1', 'c2', 'c3', 'c4', 'c5'],
    });
  });

  test('an upstream change to a denied row does not reach the client; a newly allowed one does', async () => {
    const z = client('bob', 'bob2');
    const v = z.query.issue.materialize() as unknown as View;
    await complete(v);
    expect(ids(v.data)).toEqual(['i2', 'i3']);
    await db.query(`UPDATE issue SET title = 'changed' WHERE id = 'i4'`);
    await db.query(`UPDATE issue SET owner_id = 'u2' WHERE id = 'i1'`);
    await vi.waitFor(() => expect(ids(v.data)).toEqual(['i1', 'i2', 'i3']), {timeout: 10_000});
    expect((await stored(z)).issue).toEqual(['i1', 'i2', 'i3']);
    await db.query(`UPDATE issue SET owner_id = 'u1' WHERE id = 'i1'`);
    await vi.waitFor(() => expect(ids(v.data)).toEqual(['i2', 'i3']), {timeout: 10_000});
  });

  test('a token refreshed with other claims updates the live queries', async () => {
    const z = client('bob', 'bob3');
    const v = z.query.issue.related('comments').materialize() as unknown as View;
    await complete(v);
    expect(ids(v.data)).toEqual(['i2', 'i3']);
    await z.connection.connect({auth: 'bobInO1'});
    await vi.waitFor(() => expect(ids(v.data)).toEqual(['i1', 'i2', 'i3']), {timeout: 10_000});
    expect(await stored(z)).toEqual({issue: ['i1', 'i2', 'i3'], comment: ['c1', 'c4']});
    await z.connection.connect({auth: 'bob'});
    await vi.waitFor(() => expect(ids(v.data)).toEqual(['i2', 'i3']), {timeout: 10_000});
    await vi.waitFor(async () =>
      expect(await stored(z)).toEqual({issue: ['i2', 'i3'], comment: ['c4']}),
    );
  });
});

describe('write permissions (CRUD)', () => {
  test('denied inserts, updates and deletes are rolled back with the reason', async () => {
    const z = client('alice', 'alice-w');
    const v = z.query.issue.materialize() as unknown as View;
    await complete(v);
    const ins = z.mutate.issue.insert({
      id: 'n1',
      title: 'x',
      ownerID: 'u2',
      orgID: 'o1',
      vis: 'public',
    });
    await ins.client;
    expect(ids(v.data)).toContain('n1'); // optimistic
    const insOut = await ins.server;
    expect(insOut).toMatchObject({type: 'error', error: {type: 'zero'}});
    expect((insOut as {error: {message: string}}).error.message).toMatch(
      /permission|denied|not allowed/i,
    );
    await vi.waitFor(() => expect(ids(v.data)).not.toContain('n1'));

    const upd = z.mutate.issue.update({id: 'i2', title: 'hijacked'});
    expect(await upd.server).toMatchObject({type: 'error', error: {type: 'zero'}});
    await vi.waitFor(async () =>
      expect(((await z.run(z.query.issue.where('id', 'i2').one())) as {title: string}).title).toBe(
        'two',
      ),
    );
    const del = z.mutate.issue.delete({id: 'i1'});
    expect(await del.server).toMatchObject({type: 'error', error: {type: 'zero'}});
    await vi.waitFor(async () => expect((await stored(z)).issue).toContain('i1'));

    const ok = z.mutate.issue.insert({
      id: 'n2',
      title: 'mine',
      ownerID: 'u1',
      orgID: 'o1',
      vis: 'private',
    });
    expect(await ok.server).toEqual({type: 'success'});
    const {rows} = await db.query(
      `SELECT id, title FROM issue WHERE id IN ('n1', 'n2', 'i2', 'i1') ORDER BY id`,
    );
    expect(rows).toEqual([
      {id: 'i1', title: 'one'},
      {id: 'i2', title: 'two'},
      {id: 'n2', title: 'mine'},
    ]);
  });

  test('anonymous CRUD writes are checked against rules with no claims', async () => {
    const z = client();
    const ins = z.mutate.issue.insert({
      id: 'n3',
      title: 'x',
      ownerID: 'u1',
      orgID: 'o1',
      vis: 'public',
    });
    const out = await ins.server;
    expect(out.type).toBe('error');
    const {rows} = await db.query(`SELECT id FROM issue WHERE id = 'n3'`);
    expect(rows).toEqual([]);
  });
});
