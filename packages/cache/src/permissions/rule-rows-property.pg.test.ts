// Property: over random select rules where comment's rule reads doc through `exists`,
// random docs and comments, random queries and later upstream edits, no row that its own
// table's select rule denies ever reaches a client (rows a rule only read included), and
// after every edit the client holds exactly what the oracle says. Runs the real path:
// SelectPermissions prepares the query, the incremental engine runs it, the sync server
// pokes a WebSocket client. The oracle is plain JavaScript over a model of the tables.
import fc from 'fast-check';
import type {AST, RowValue} from '@zync/protocol';
import {
  ANYONE_CAN,
  boolean,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  number,
  relationships,
  string,
  table,
  type DefinedPermissions,
  type ExpressionBuilder,
} from '@zync/zql';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {engineQueryDriverFactory} from '../view-syncer/engine-query-driver.ts';
import type {Authenticator} from '../server/hooks.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {MemorySnapshot} from '../../test/sync/memory-snapshot.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {SelectPermissions} from './select-permissions.ts';

const doc = table('doc')
  .columns({id: string(), run: number(), owner: string(), open: boolean(), rank: number()})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), run: number(), docID: string().from('doc_id'), author: string()})
  .primaryKey('id');
// One row per run, put with every edit: each edit gives a poke to wait for.
const marker = table('marker').columns({id: string(), run: number(), v: number()}).primaryKey('id');
const schema = createSchema({
  tables: [doc, comment, marker],
  relationships: [
    relationships(comment, ({one}) => ({
      doc: one({sourceField: ['docID'], destField: ['id'], destSchema: doc}),
    })),
    relationships(doc, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['docID'], destSchema: comment}),
    })),
  ],
});
type S = typeof schema;
type Claims = {sub: string};
const SUB = 'u0';

type DocPred = {kind: 'owner'} | {kind: 'open'} | {kind: 'rank'; below: number};
type CommentRule = {kind: 'author'} | {kind: 'docExists'; pred: DocPred};
const docPredArb: fc.Arbitrary<DocPred> = fc.oneof(
  fc.constant({kind: 'owner'} as const),
  fc.constant({kind: 'open'} as const),
  fc.integer({min: 0, max: 3}).map(below => ({kind: 'rank', below}) as const),
);
const commentRuleArb: fc.Arbitrary<CommentRule> = fc.oneof(
  fc.constant({kind: 'author'} as const),
  docPredArb.map(pred => ({kind: 'docExists', pred}) as const),
  docPredArb.map(pred => ({kind: 'docExists', pred}) as const),
);

const QUERIES = ['comment', 'commentWithDoc', 'commentWhereDoc', 'docWithComments', 'mine'];
type QueryKind = (typeof QUERIES)[number];

type DocShape = {owner: string; open: boolean; rank: number};
type CommentShape = {doc: number; author: string};
const docShapeArb: fc.Arbitrary<DocShape> = fc.record({
  owner: fc.constantFrom('u0', 'u1'),
  open: fc.boolean(),
  rank: fc.integer({min: 0, max: 3}),
});
// Doc 4 never exists: a comment may point nowhere.
const commentShapeArb: fc.Arbitrary<CommentShape> = fc.record({
  doc: fc.nat(4),
  author: fc.constantFrom('u0', 'u1'),
});
type Edit =
  | {kind: 'doc'; i: number; shape: DocShape}
  | {kind: 'comment'; i: number; shape: CommentShape}
  | {kind: 'delDoc'; i: number}
  | {kind: 'delComment'; i: number};
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({kind: fc.constant('doc' as const), i: fc.nat(3), shape: docShapeArb}),
  fc.record({kind: fc.constant('comment' as const), i: fc.nat(5), shape: commentShapeArb}),
  fc.record({kind: fc.constant('delDoc' as const), i: fc.nat(3)}),
  fc.record({kind: fc.constant('delComment' as const), i: fc.nat(5)}),
);

function docRule(p: DocPred) {
  return (a: Claims, {cmp}: ExpressionBuilder<S, 'doc'>) => {
    switch (p.kind) {
      case 'owner':
        return cmp('owner', a.sub);
      case 'open':
        return cmp('open', true);
      case 'rank':
        return cmp('rank', '<', p.below);
    }
  };
}

function commentRule(r: CommentRule) {
  return (a: Claims, eb: ExpressionBuilder<S, 'comment'>) => {
    if (r.kind === 'author') return eb.cmp('author', a.sub);
    return eb.exists('doc', d => d.where(deb => docRule(r.pred)(a, deb)));
  };
}

// The oracle, on server-named rows.
function docPasses(p: DocPred, d: RowValue): boolean {
  switch (p.kind) {
    case 'owner':
      return d['owner'] === SUB;
    case 'open':
      return d['open'] === true;
    case 'rank':
      return (d['rank'] as number) < p.below;
  }
}

type Model = {docs: Map<string, RowValue>; comments: Map<string, RowValue>};
type Rules = {doc: DocPred[]; comment: CommentRule[]};

function docVisible(rules: Rules, d: RowValue): boolean {
  return rules.doc.some(p => docPasses(p, d));
}

function commentVisible(rules: Rules, m: Model, c: RowValue): boolean {
  return rules.comment.some(r => {
    if (r.kind === 'author') return c['author'] === SUB;
    const d = m.docs.get(c['doc_id'] as string);
    return d !== undefined && docPasses(r.pred, d);
  });
}

/** What the client must hold for the query, as `table:id` → row. */
function expected(kind: QueryKind, rules: Rules, m: Model): Map<string, RowValue> {
  const out = new Map<string, RowValue>();
  const comments = [...m.comments.values()].filter(c => commentVisible(rules, m, c));
  const docs = [...m.docs.values()].filter(d => docVisible(rules, d));
  const docOf = (c: RowValue) => docs.find(d => d['id'] === c['doc_id']);
  const put = (t: string, r: RowValue) => out.set(`${t}:${r['id'] as string}`, r);
  switch (kind) {
    case 'comment':
      comments.forEach(c => put('comment', c));
      break;
    case 'mine':
      comments.filter(c => c['author'] === SUB).forEach(c => put('comment', c));
      break;
    case 'commentWithDoc':
    case 'commentWhereDoc':
      for (const c of comments) {
        const d = docOf(c);
        if (kind === 'commentWhereDoc' && !d) continue;
        put('comment', c);
        if (d) put('doc', d);
      }
      break;
    case 'docWithComments':
      docs.forEach(d => put('doc', d));
      comments.filter(c => docOf(c)).forEach(c => put('comment', c));
      break;
  }
  return out;
}

let server: TestServer;
let replica: MemoryReplica;
let current: SelectPermissions | undefined;
const authenticate: Authenticator = connect =>
  Promise.resolve({
    ok: true,
    authData: connect.auth === undefined ? {} : (JSON.parse(connect.auth) as Claims),
    tokenExpiresAt: null,
  });

beforeAll(async () => {
  replica = new MemoryReplica({
    doc: {primaryKey: ['id']},
    comment: {primaryKey: ['id']},
    marker: {primaryKey: ['id']},
  });
  const r = replica;
  server = await startTestServer({
    dbUrl: await createTestDatabase('rule_rows_property'),
    replica: r,
    createDriver: engineQueryDriverFactory((_id, batcher) => new MemorySnapshot(r, batcher)),
    extra: {authenticate, prepareQuery: (query, ctx) => current!.prepare(query, ctx)},
  });
});

afterAll(async () => {
  await server.stop();
});

const q = createBuilder(schema);

function queryAST(kind: QueryKind, run: number): AST {
  switch (kind) {
    case 'comment':
      return q.comment.where('run', run).ast;
    case 'mine':
      return q.comment.where('run', run).where('author', SUB).ast;
    case 'commentWithDoc':
      return q.comment.where('run', run).related('doc').ast;
    case 'commentWhereDoc':
      return q.comment.where('run', run).whereExists('doc').related('doc').ast;
    default:
      return q.doc.where('run', run).related('comments').ast;
  }
}

let run = 0;

test('no row its own select rule denies reaches a client, rule-read rows included', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(docPredArb, {maxLength: 2}),
      fc.array(commentRuleArb, {minLength: 1, maxLength: 2}),
      fc.constantFrom(...QUERIES),
      fc.array(fc.option(docShapeArb, {nil: undefined}), {minLength: 4, maxLength: 4}),
      fc.array(fc.option(commentShapeArb, {nil: undefined}), {minLength: 6, maxLength: 6}),
      fc.array(editArb, {maxLength: 6}),
      async (docRules, commentRules, kind, docShapes, commentShapes, edits) => {
        const n = ++run;
        const rules: Rules = {doc: docRules, comment: commentRules};
        const permissions: DefinedPermissions = await definePermissions<Claims, S>(schema, () => ({
          doc: {row: {select: docRules.map(docRule)}},
          comment: {row: {select: commentRules.map(commentRule)}},
          marker: {row: {select: ANYONE_CAN}},
        }));
        current = new SelectPermissions({permissions, claims: 'verified'});
        const model: Model = {docs: new Map(), comments: new Map()};
        const docID = (i: number) => `${n}-d${i}`;
        const commentID = (i: number) => `${n}-c${i}`;
        const apply = (e: Edit) => {
          switch (e.kind) {
            case 'doc': {
              const row = {id: docID(e.i), run: n, ...e.shape};
              model.docs.set(row.id, row);
              replica.put('doc', row);
              return;
            }
            case 'comment': {
              const {doc: d, author} = e.shape;
              const row = {id: commentID(e.i), run: n, doc_id: docID(d), author};
              model.comments.set(row.id, row);
              replica.put('comment', row);
              return;
            }
            case 'delDoc':
              if (model.docs.delete(docID(e.i))) replica.del('doc', {id: docID(e.i)});
              return;
            case 'delComment':
              if (model.comments.delete(commentID(e.i))) {
                replica.del('comment', {id: commentID(e.i)});
              }
              return;
          }
        };
        let step = 0;
        const commit = () => {
          replica.put('marker', {id: `${n}`, run: n, v: step});
          replica.commit();
        };
        docShapes.forEach((shape, i) => shape && apply({kind: 'doc', i, shape}));
        commentShapes.forEach((shape, i) => shape && apply({kind: 'comment', i, shape}));
        commit();

        const c = await TestClient.open(server.port);
        const holds = new Map<string, RowValue>();
        // Reads pokes up to the one with marker `step`; every put is checked on arrival.
        const converge = async () => {
          for (;;) {
            const poke = await c.poke();
            let done = false;
            for (const r of poke.rows) {
              if (r.op === 'del') {
                holds.delete(`${r.table}:${r.id['id'] as string}`);
                continue;
              }
              if (r.op !== 'put') continue;
              if (r.table === 'marker') {
                done = r.value['v'] === step;
                continue;
              }
              if (r.table === 'doc') expect(docVisible(rules, r.value)).toBe(true);
              if (r.table === 'comment') expect(commentVisible(rules, model, r.value)).toBe(true);
              holds.set(`${r.table}:${r.value['id'] as string}`, r.value);
            }
            if (done) break;
          }
          expect(holds).toEqual(expected(kind, rules, model));
        };
        try {
          c.connect({
            clientID: `c${n}`,
            clientGroupID: `g${n}`,
            auth: JSON.stringify({sub: SUB}),
            desiredQueries: [
              {op: 'put', hash: 'q', ast: mapAST(queryAST(kind, n), schema, 'server')},
              {op: 'put', hash: 'm', ast: mapAST(q.marker.where('run', n).ast, schema, 'server')},
            ],
          });
          await converge();
          for (const e of edits) {
            step++;
            apply(e);
            commit();
            await converge();
          }
        } finally {
          await c.close();
        }
      },
    ),
    {numRuns: 200},
  );
}, 180_000);
