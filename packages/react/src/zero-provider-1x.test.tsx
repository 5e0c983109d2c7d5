// @vitest-environment jsdom
// ZeroProvider with Zero 1.x's props: cacheURL, a null userID, and context; and which prop
// changes make a new instance.
import type {SocketLike, Zero} from '@zync/client';
import type {ConnectBody} from '@zync/protocol';
import type {Transaction} from '@zync/zql';
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
import {act, render, screen, waitFor} from '@testing-library/react';
import type {ReactNode} from 'react';
import {StrictMode} from 'react';
import {afterEach, expect, test} from 'vitest';
import {WebSocket} from 'ws';
import type {FakeZeroCache} from '../../../test/fake-zero-cache.ts';
import {pokeFrame, startFakeZeroCache} from '../../../test/fake-zero-cache.ts';
import {useQuery} from './use-query.ts';
import {useZero, ZeroProvider} from './zero-provider.tsx';

const schema = createSchema({
  tables: [table('item').columns({id: string(), owner: string(), n: number()}).primaryKey('id')],
});
const zql = createBuilder(schema);
type Ctx = {owner: string};

const seen: {args: {min: number}; ctx: Ctx}[] = [];
const queries = defineQueries({
  items: {
    owned: defineQuery(({args, ctx}: {args: {min: number}; ctx: Ctx}) => {
      seen.push({args, ctx});
      return zql.item.where('owner', ctx.owner).where('n', '>=', args.min).orderBy('id', 'asc');
    }),
  },
});
const mutators = defineMutators({
  items: {
    add: defineMutator(
      async ({tx, args, ctx}: {tx: Transaction<typeof schema>; args: {id: string}; ctx: Ctx}) => {
        await tx.mutate.item.insert({id: args.id, owner: ctx.owner, n: 0});
      },
    ),
  },
});

const createSocket = (url: string) => new WebSocket(url) as unknown as SocketLike;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<FakeZeroCache> {
  const s = await startFakeZeroCache();
  cleanups.push(() => s.close());
  return s;
}

function connects(srv: FakeZeroCache): ConnectBody[] {
  return srv.received.flatMap(f => (f[0] === 'connect' ? [f[1]] : []));
}

/** Shows the provided instance's user and whether it is open. */
function Who() {
  const z = useZero();
  return <p>{`${z.userID} ${z.closed ? 'closed' : 'open'}`}</p>;
}

test('cacheURL connects to that server', async () => {
  const srv = await server();
  const r = render(
    <ZeroProvider
      userID="u"
      schema={schema}
      cacheURL={srv.server}
      kvStore="mem"
      createSocket={createSocket}
    >
      <Who />
    </ZeroProvider>,
  );
  cleanups.push(() => r.unmount());
  await screen.findByText('u open');
  await waitFor(() => expect(connects(srv)).toHaveLength(1));
  expect(connects(srv)[0]!.userID).toBe('u');
});

test('userID={null} makes an anonymous instance, the user "anon" on the wire', async () => {
  const srv = await server();
  const r = render(
    <ZeroProvider
      userID={null}
      schema={schema}
      cacheURL={srv.server}
      kvStore="mem"
      createSocket={createSocket}
    >
      <Who />
    </ZeroProvider>,
  );
  cleanups.push(() => r.unmount());
  await screen.findByText('anon open');
  await waitFor(() => expect(connects(srv)).toHaveLength(1));
  expect(connects(srv)[0]!.userID).toBe('anon');
});

test("context reaches a defined query's fn used through useQuery(queries.x.y(args))", async () => {
  const srv = await server();
  seen.length = 0;
  let zero: Zero<typeof schema> | undefined;
  function Owned() {
    zero = useZero<typeof schema>();
    const [rows, details] = useQuery(queries.items.owned({min: 2}));
    return <p>{`${details.type}: [${rows.map(r => r.id).join(',')}]`}</p>;
  }
  const r = render(
    <ZeroProvider
      userID="u"
      schema={schema}
      cacheURL={srv.server}
      kvStore="mem"
      createSocket={createSocket}
      context={{owner: 'ann'} satisfies Ctx}
    >
      <Owned />
    </ZeroProvider>,
  );
  cleanups.push(() => r.unmount());
  await screen.findByText('unknown: []');
  expect(seen.at(-1)).toEqual({args: {min: 2}, ctx: {owner: 'ann'}});
  // The server is asked for the query by name and args.
  await waitFor(() => expect(srv.queryHashes()).toHaveLength(1));
  await waitFor(() => expect(zero?.online).toBe(true));
  const put = srv.received
    .flatMap(f =>
      f[0] === 'changeDesiredQueries' ? f[1].patch : f[0] === 'connect' ? f[1].desiredQueries : [],
    )
    .find(p => p.op === 'put');
  expect(put).toMatchObject({name: 'items.owned', args: [{min: 2}]});
  // Locally, the rows are those the context's query selects.
  act(() => {
    srv.send(
      pokeFrame({
        rows: [
          {op: 'put', table: 'item', value: {id: 'a', owner: 'ann', n: 3}},
          {op: 'put', table: 'item', value: {id: 'b', owner: 'bob', n: 3}},
          {op: 'put', table: 'item', value: {id: 'c', owner: 'ann', n: 1}},
        ],
        gotQueries: srv.queryHashes().map(hash => ({op: 'put' as const, hash})),
      }),
    );
  });
  await screen.findByText('complete: [a]');
});

test('a new userID or cacheURL makes a new instance and closes the old; equal props do not', async () => {
  const srv1 = await server();
  const srv2 = await server();
  const made: Zero<typeof schema>[] = [];
  const init = (z: Zero<typeof schema>) => made.push(z);
  const tree = (userID: string | null, cacheURL: string) => (
    <ZeroProvider
      userID={userID}
      schema={schema}
      cacheURL={cacheURL}
      kvStore="mem"
      createSocket={createSocket}
      context={{owner: 'ann'}}
      init={init}
    >
      <Who />
    </ZeroProvider>
  );
  const r = render(tree('u', srv1.server));
  cleanups.push(() => r.unmount());
  await screen.findByText('u open');
  expect(made).toHaveLength(1);

  // The same props again (new but equal inline objects): the instance stays.
  r.rerender(tree('u', srv1.server));
  await screen.findByText('u open');
  expect(made).toHaveLength(1);
  expect(made[0]!.closed).toBe(false);

  r.rerender(tree(null, srv1.server));
  await screen.findByText('anon open');
  expect(made).toHaveLength(2);
  expect(made[0]!.closed).toBe(true);
  expect(made[1]!.userID).toBe('anon');

  r.rerender(tree(null, srv2.server));
  await waitFor(() => expect(made).toHaveLength(3));
  expect(made[1]!.closed).toBe(true);
  await waitFor(() => expect(connects(srv2)).toHaveLength(1));
  expect(connects(srv2)[0]!.clientID).toBe(made[2]!.clientID);
  expect(made[2]!.closed).toBe(false);
});

test('under StrictMode: create, close, create, and an equal re-render keeps the instance', async () => {
  const made: Zero<typeof schema>[] = [];
  const tree = (
    <StrictMode>
      <ZeroProvider
        userID="u"
        schema={schema}
        cacheURL={null}
        kvStore="mem"
        context={{owner: 'ann'}}
        init={z => made.push(z)}
      >
        <Who />
      </ZeroProvider>
    </StrictMode>
  );
  const r = render(tree);
  cleanups.push(() => r.unmount());
  await screen.findByText('u open');
  expect(made).toHaveLength(2);
  expect(made.map(z => z.closed)).toEqual([true, false]);
  r.rerender(tree);
  await screen.findByText('u open');
  expect(made).toHaveLength(2);
  expect(made[1]!.closed).toBe(false);
});

test('a new context keeps the instance; queries and mutators called afterwards get it', async () => {
  seen.length = 0;
  const made: Zero<typeof schema>[] = [];
  function Owned({min}: {min: number}) {
    const [rows] = useQuery(queries.items.owned({min}));
    return <p>{`min ${min}: [${rows.map(r => r.id).join(',')}]`}</p>;
  }
  const tree = (owner: string, min: number): ReactNode => (
    <ZeroProvider
      userID="u"
      schema={schema}
      cacheURL={null}
      kvStore="mem"
      mutators={mutators}
      context={{owner} satisfies Ctx}
      init={z => made.push(z)}
    >
      <Owned min={min} />
    </ZeroProvider>
  );
  const r = render(tree('ann', 0));
  cleanups.push(() => r.unmount());
  await screen.findByText('min 0: []');
  const zero = made[0]!;
  expect(await zero.mutate(mutators.items.add({id: 'a1'})).client).toEqual({type: 'success'});
  await screen.findByText('min 0: [a1]');

  r.rerender(tree('bob', 0));
  expect(made).toHaveLength(1);
  expect(zero.closed).toBe(false);
  expect(zero.context).toEqual({owner: 'bob'});
  // A mutator run now sees the new context.
  expect(await zero.mutate(mutators.items.add({id: 'b1'})).client).toEqual({type: 'success'});
  expect(await zero.run(zql.item.orderBy('id', 'asc'))).toEqual([
    {id: 'a1', owner: 'ann', n: 0},
    {id: 'b1', owner: 'bob', n: 0},
  ]);
  // A query bound from now on (new args) is made with the new context.
  r.rerender(tree('bob', -1));
  await screen.findByText('min -1: [b1]');
  expect(seen.at(-1)).toEqual({args: {min: -1}, ctx: {owner: 'bob'}});
  expect(made).toHaveLength(1);
});
