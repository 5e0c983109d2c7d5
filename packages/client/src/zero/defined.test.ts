// Zero 1.x's defined queries and mutators on the client: what goes on the wire, what the
// app's functions receive, and what never leaves the client.
import type {Mutation, QueryPatchOp} from '@zync/protocol';
import type {Schema, StandardSchemaV1, Transaction} from '@zync/zql';
import {
  createBuilder,
  createSchema,
  defineMutator,
  defineMutators,
  defineQueries,
  defineQuery,
  number,
  string,
  table,
} from '@zync/zql';
import {afterEach, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import type {FakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import {pokeFrame, startFakeZeroCache} from '../../../../test/fake-zero-cache.ts';
import type {SocketLike} from '../connection/connection.ts';
import {Zero} from './zero.ts';

const schema = createSchema({
  tables: [
    table('message').columns({id: string(), body: string(), votes: number()}).primaryKey('id'),
  ],
});
const zql = createBuilder(schema);
type Ctx = {userID: string};
type Tx = Transaction<typeof schema>;

/** A Standard Schema validator for `{id: string}`, as zod or valibot would provide. */
const idArgs: StandardSchemaV1<{id: string}> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: v =>
      typeof v === 'object' && v !== null && typeof (v as {id?: unknown}).id === 'string'
        ? {value: v as {id: string}}
        : {issues: [{message: 'id must be a string'}]},
  },
};

const seenCtx: unknown[] = [];
const queries = defineQueries({
  messages: {
    byID: defineQuery(idArgs, ({args}) => zql.message.where('id', args.id)),
    mine: defineQuery(({ctx}: {args: undefined; ctx: Ctx}) => {
      seenCtx.push(ctx);
      return zql.message.where('id', ctx.userID);
    }),
  },
});

const mutators = defineMutators({
  message: {
    insert: defineMutator(
      async ({tx, args, ctx}: {tx: Tx; args: {id: string; body: string}; ctx: Ctx}) => {
        await tx.mutate.message.insert({...args, body: `${args.body} by ${ctx.userID}`, votes: 0});
      },
    ),
    broken: defineMutator(async ({tx}: {tx: Tx; args: undefined}) => {
      await tx.mutate.message.insert({id: 'half', body: 'written before the throw', votes: 0});
      throw new Error('no such message');
    }),
    count: defineMutator(async ({tx}: {tx: Tx; args: undefined}) => {
      const rows = await tx.run(zql.message);
      await tx.mutate.message.insert({id: 'count', body: String(rows.length), votes: 0});
    }),
  },
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(s: Schema = schema) {
  const srv = await startFakeZeroCache();
  cleanups.push(() => srv.close());
  const zero = new Zero({
    cacheURL: srv.server,
    schema: s,
    kvStore: 'mem',
    mutators,
    context: {userID: 'u1'} satisfies Ctx,
    createSocket: url => new WebSocket(url) as unknown as SocketLike,
  });
  cleanups.push(() => zero.close());
  await vi.waitFor(() => expect(zero.online).toBe(true));
  return {srv, zero};
}

function puts(srv: FakeZeroCache): QueryPatchOp[] {
  return srv.received.flatMap(f =>
    f[0] === 'changeDesiredQueries' ? f[1].patch.filter(p => p.op === 'put') : [],
  );
}

function pushes(srv: FakeZeroCache): Mutation[] {
  return srv.received.flatMap(f => (f[0] === 'push' ? f[1].mutations : []));
}

test('a defined query is synced by its dotted name with [args], or [] without args', async () => {
  const {srv, zero} = await setup();
  const a = zero.materialize(queries.messages.byID({id: 'm1'}));
  const b = zero.materialize(queries.messages.mine());
  await vi.waitFor(() => expect(puts(srv)).toHaveLength(2));
  expect(puts(srv).map(p => ('name' in p ? [p.name, p.args] : p))).toEqual([
    ['messages.byID', [{id: 'm1'}]],
    ['messages.mine', []],
  ]);
  a.destroy();
  b.destroy();
});

test("the client's context reaches the query function", async () => {
  const {srv, zero} = await setup();
  seenCtx.length = 0;
  srv.send(
    pokeFrame({rows: [{op: 'put', table: 'message', value: {id: 'u1', body: 'x', votes: 0}}]}),
  );
  await vi.waitFor(async () =>
    expect(await zero.run(queries.messages.mine())).toEqual([{id: 'u1', body: 'x', votes: 0}]),
  );
  expect(seenCtx.at(-1)).toEqual({userID: 'u1'});
  expect(zero.userID).toBe('anon');
});

test('invalid args are refused with a TypeError before anything is sent', async () => {
  const {srv, zero} = await setup();
  const bad = queries.messages.byID({id: 7} as unknown as {id: string});
  expect(() => zero.materialize(bad)).toThrow(TypeError);
  expect(() => zero.preload(bad)).toThrow(
    'invalid args for query "messages.byID": id must be a string',
  );
  // A valid query sent afterwards is the only one the server saw.
  zero.preload(queries.messages.byID({id: 'ok'})).cleanup();
  await vi.waitFor(() => expect(puts(srv)).toHaveLength(1));
  expect(puts(srv)[0]).toMatchObject({name: 'messages.byID', args: [{id: 'ok'}]});
});

test('zero.mutate(request) pushes `<namespace>.<name>` with [args] and runs fn with the context', async () => {
  const {srv, zero} = await setup();
  const r = zero.mutate(mutators.message.insert({id: 'm1', body: 'hi'}));
  expect(await r.client).toEqual({type: 'success'});
  expect(await zero.run(zql.message)).toEqual([{id: 'm1', body: 'hi by u1', votes: 0}]);
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  expect(pushes(srv)[0]).toMatchObject({
    type: 'custom',
    id: 1,
    name: 'message.insert',
    args: [{id: 'm1', body: 'hi'}],
  });
  srv.send(['pushResponse', {mutations: [{clientID: zero.clientID, id: 1, result: {type: 'ok'}}]}]);
  srv.send(
    pokeFrame({
      rows: [{op: 'put', table: 'message', value: {id: 'm1', body: 'hi by u1', votes: 0}}],
      lastMutationIDChanges: {[zero.clientID]: 1},
    }),
  );
  expect(await r.server).toEqual({type: 'success'});
});

test('a mutator that throws on the client is not sent and leaves nothing behind', async () => {
  const {srv, zero} = await setup();
  const r = zero.mutate(mutators.message.broken());
  const failed = {
    type: 'error',
    error: {type: 'app', message: 'no such message', details: undefined},
  };
  expect(await r.client).toEqual(failed);
  expect(await r.server).toEqual(failed);
  expect(await zero.run(zql.message)).toEqual([]);
  // The next mutation takes id 1: the failed one used no id and was never pushed.
  const ok = zero.mutate(mutators.message.count());
  await ok.client;
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  expect(pushes(srv)[0]).toMatchObject({id: 1, name: 'message.count', args: []});
  expect(await zero.run(zql.message)).toEqual([{id: 'count', body: '0', votes: 0}]);
});

test('a server rejection rolls back the optimistic write and resolves .server with the error', async () => {
  const {srv, zero} = await setup();
  const r = zero.mutate(mutators.message.insert({id: 'm2', body: 'x'}));
  await r.client;
  expect(await zero.run(zql.message)).toHaveLength(1);
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  srv.send([
    'pushResponse',
    {
      mutations: [
        {
          clientID: zero.clientID,
          id: 1,
          result: {type: 'error', error: 'app', message: 'not yours', details: {code: 7}},
        },
      ],
    },
  ]);
  srv.send(pokeFrame({lastMutationIDChanges: {[zero.clientID]: 1}}));
  expect(await r.server).toEqual({
    type: 'error',
    error: {type: 'app', message: 'not yours', details: {code: 7}},
  });
  expect(await zero.run(zql.message)).toEqual([]);
});

test('zero.mutate refuses what is not a registered defined mutator', async () => {
  const {zero} = await setup();
  const other = defineMutators({message: {insert: defineMutator(async () => {})}});
  expect(() => zero.mutate(other.message.insert())).toThrow(
    'mutator "message.insert" is not registered',
  );
  expect(() => zero.mutate({} as never)).toThrow(TypeError);
});

test('with legacy queries and mutators off, raw queries and CRUD are refused on the client', async () => {
  const strict = createSchema({
    tables: [
      table('message').columns({id: string(), body: string(), votes: number()}).primaryKey('id'),
    ],
    enableLegacyQueries: false,
    enableLegacyMutators: false,
  });
  const {srv, zero} = await setup(strict);
  expect(() => zero.query.message).toThrow(/enableLegacyQueries: false.*defineQueries/);
  expect(() => zero.materialize(zql.message)).toThrow(TypeError);
  const crud = zero.mutate as unknown as {message: {insert(v: object): unknown}};
  expect(() => crud.message.insert({id: 'a', body: 'b', votes: 0})).toThrow(
    /enableLegacyMutators: false.*defineMutators/,
  );
  // Defined queries and mutators work, and a local read of a raw query is allowed.
  zero.materialize(queries.messages.byID({id: 'm'})).destroy();
  await zero.mutate(mutators.message.insert({id: 'm', body: 'b'})).client;
  expect(await zero.run(zql.message)).toHaveLength(1);
  await vi.waitFor(() => expect(pushes(srv)).toHaveLength(1));
  expect(puts(srv).every(p => 'name' in p)).toBe(true);
});

test('the 0.24 call forms still work through the callable zero.mutate', async () => {
  const srv = await startFakeZeroCache();
  cleanups.push(() => srv.close());
  const zero = new Zero({
    server: srv.server,
    userID: 'u',
    schema,
    kvStore: 'mem',
    mutators: {
      message: {
        like: async (tx: {mutate: {message: {insert(v: object): Promise<void>}}}, id: string) => {
          await tx.mutate.message.insert({id, body: 'liked', votes: 1});
        },
      },
    },
    createSocket: url => new WebSocket(url) as unknown as SocketLike,
  });
  cleanups.push(() => zero.close());
  expect(typeof zero.mutate).toBe('function');
  await zero.mutate.message.like('a').client;
  await zero.mutate.message.insert({id: 'b', body: 'crud', votes: 0}).client;
  expect(await zero.run(zero.query.message)).toHaveLength(2);
  await vi.waitFor(() =>
    expect(pushes(srv).map(m => m.name)).toEqual(['message.like', '_zero_crud']),
  );
  expect(pushes(srv)[0]?.args).toEqual(['a']);
});
