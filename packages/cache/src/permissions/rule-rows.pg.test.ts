// Rows that a select rule reads through `exists` decide which rows pass and stay on the
// server: driven through the sync server, the incremental engine and SelectPermissions,
// checking every frame the client gets, initially and after upstream edits.
import type {AST, RowValue} from '@zync/protocol';
import {
  boolean,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  relationships,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {afterEach, beforeAll, beforeEach, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {engineQueryDriverFactory} from '../view-syncer/engine-query-driver.ts';
import type {Authenticator} from '../server/hooks.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {MemorySnapshot} from '../../test/sync/memory-snapshot.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {SelectPermissions} from './select-permissions.ts';

const doc = table('doc')
  .columns({id: string(), ownerID: string().from('owner_id'), open: boolean(), title: string()})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), docID: string().from('doc_id'), body: string()})
  .primaryKey('id');
const schema = createSchema({
  tables: [doc, comment],
  relationships: [
    relationships(comment, ({one}) => ({
      doc: one({sourceField: ['docID'], destField: ['id'], destSchema: doc}),
    })),
  ],
});
type S = typeof schema;
type Claims = {sub?: string};

// A doc is readable by its owner only; a comment by anyone while its doc is open.
const permissions = definePermissions<Claims, S>(schema, () => ({
  doc: {row: {select: [(a, {cmp}: ExpressionBuilder<S, 'doc'>) => cmp('ownerID', a.sub ?? '')]}},
  comment: {
    row: {
      select: [
        (_a, {exists}: ExpressionBuilder<S, 'comment'>) =>
          exists('doc', d => d.where('open', true)),
      ],
    },
  },
}));

const authenticate: Authenticator = connect =>
  Promise.resolve({
    ok: true,
    authData: connect.auth === undefined ? {} : (JSON.parse(connect.auth) as Claims),
    tokenExpiresAt: null,
  });

let server: TestServer;
let replica: MemoryReplica;

const docRow = (id: string, owner: string, open: boolean, title = id): RowValue => ({
  id,
  owner_id: owner,
  open,
  title,
});
const commentRow = (id: string, docID: string, body = id): RowValue => ({
  id,
  doc_id: docID,
  body,
});

let dbUrl: string;
let select: SelectPermissions;
beforeAll(async () => {
  dbUrl = await createTestDatabase('rule_rows');
  select = new SelectPermissions({permissions: await permissions, claims: 'verified'});
});

let run = 0;
let p = '';
beforeEach(async () => {
  p = `r${++run}-`;
  // Open docs of someone else (d1) and of the user (d3); a closed doc of someone else (d2).
  replica = new MemoryReplica({
    doc: {
      primaryKey: ['id'],
      rows: [
        docRow(`${p}d1`, 'u2', true),
        docRow(`${p}d2`, 'u2', false),
        docRow(`${p}d3`, 'u1', true),
      ],
    },
    comment: {
      primaryKey: ['id'],
      rows: [
        commentRow(`${p}c1`, `${p}d1`),
        commentRow(`${p}c2`, `${p}d2`),
        commentRow(`${p}c3`, `${p}d3`),
      ],
    },
  });
  const r = replica;
  server = await startTestServer({
    dbUrl,
    replica: r,
    createDriver: engineQueryDriverFactory((_id, batcher) => new MemorySnapshot(r, batcher)),
    extra: {authenticate, prepareQuery: select.prepare},
  });
});

afterEach(async () => {
  await server.stop();
});

const q = createBuilder(schema);

async function join(ast: AST): Promise<TestClient> {
  const c = await TestClient.open(server.port);
  c.connect({
    clientID: `${p}client`,
    clientGroupID: `${p}group`,
    auth: JSON.stringify({sub: 'u1'}),
    desiredQueries: [{op: 'put', hash: 'h', ast: mapAST(ast, schema, 'server')}],
  });
  return c;
}

/** Every row put to the client so far, as `table:id`, and the rows the client now holds. */
function sent(c: TestClient): {puts: string[]; holds: Set<string>} {
  const puts: string[] = [];
  const holds = new Set<string>();
  for (const f of c.frames) {
    if (f[0] !== 'poke') continue;
    for (const r of f[1].rows) {
      if (r.op === 'put') {
        const key = `${r.table}:${(r.value['id'] as string).slice(p.length)}`;
        puts.push(key);
        holds.add(key);
      } else if (r.op === 'del') {
        holds.delete(`${r.table}:${(r.id['id'] as string).slice(p.length)}`);
      }
    }
  }
  return {puts, holds};
}

/** Waits for the poke that puts (or deletes) row `id` of `table`. */
async function untilRow(c: TestClient, table: string, id: string): Promise<void> {
  for (;;) {
    const poke = await c.poke();
    const hit = poke.rows.some(
      r =>
        (r.op === 'put' && r.table === table && r.value['id'] === p + id) ||
        (r.op === 'del' && r.table === table && r.id['id'] === p + id),
    );
    if (hit) return;
  }
}

test('a rule reading docs sends the comments it allows and none of the docs', async () => {
  await expectForgedMarkRefused();
  const c = await join(q.comment.ast);
  try {
    await untilRow(c, 'comment', 'c1');
    expect(sent(c).holds).toEqual(new Set(['comment:c1', 'comment:c3']));

    // An edit of a doc the rule read, which keeps passing: nothing reaches the client.
    replica.put('doc', docRow(`${p}d1`, 'u2', true, 'renamed')).commit();
    // Opening d2 lets c2 in, without d2.
    replica.put('doc', docRow(`${p}d2`, 'u2', true)).commit();
    await untilRow(c, 'comment', 'c2');
    // Closing d1 takes c1 out.
    replica.put('doc', docRow(`${p}d1`, 'u2', false, 'renamed')).commit();
    await untilRow(c, 'comment', 'c1');
    // An edit of a comment: the comment again, never its doc.
    replica.put('comment', commentRow(`${p}c3`, `${p}d3`, 'edited')).commit();
    await untilRow(c, 'comment', 'c3');
    // A new comment on d2 (now open): the comment, not the doc.
    replica.put('comment', commentRow(`${p}c4`, `${p}d2`)).commit();
    await untilRow(c, 'comment', 'c4');

    const {puts, holds} = sent(c);
    expect(puts.filter(k => k.startsWith('doc:'))).toEqual([]);
    expect(holds).toEqual(new Set(['comment:c2', 'comment:c3', 'comment:c4']));
  } finally {
    await c.close();
  }
});

test("a query's own related docs are sent, filtered by doc's rule", async () => {
  const c = await join(q.comment.related('doc').ast);
  try {
    await untilRow(c, 'comment', 'c1');
    // c1's doc is open but not the user's: the comment comes, the doc does not.
    expect(sent(c).holds).toEqual(new Set(['comment:c1', 'comment:c3', 'doc:d3']));

    replica.put('doc', docRow(`${p}d1`, 'u1', true)).commit(); // d1 becomes the user's
    await untilRow(c, 'doc', 'd1');
    replica.put('doc', docRow(`${p}d2`, 'u2', true)).commit(); // c2 in, d2 stays out
    await untilRow(c, 'comment', 'c2');
    replica.put('doc', docRow(`${p}d2`, 'u2', true, 'renamed')).commit();
    replica.put('comment', commentRow(`${p}c2`, `${p}d2`, 'edited')).commit();
    await untilRow(c, 'comment', 'c2');

    const {puts, holds} = sent(c);
    expect(puts.filter(k => k.startsWith('doc:'))).toEqual(['doc:d3', 'doc:d1']);
    expect(holds).toEqual(new Set(['comment:c1', 'comment:c2', 'comment:c3', 'doc:d1', 'doc:d3']));
  } finally {
    await c.close();
  }
});

/** The server-only mark is the server's own: a client AST that carries it is refused. */
async function expectForgedMarkRefused(): Promise<void> {
  const ast = mapAST(q.comment.whereExists('doc').ast, schema, 'server') as AST & {
    where: {related: object};
  };
  const forged = {...ast, where: {...ast.where, related: {...ast.where.related, serverOnly: true}}};
  const c = await TestClient.open(server.port);
  c.connect({
    clientID: `${p}forger`,
    clientGroupID: `${p}forged`,
    auth: JSON.stringify({sub: 'u1'}),
    desiredQueries: [{op: 'put', hash: 'h', ast: forged as AST}],
  });
  const [, body] = await c.next('error');
  expect(body.kind).toBe('InvalidMessage');
  await c.closed;
}
