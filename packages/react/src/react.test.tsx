// @vitest-environment jsdom
import type {SocketLike} from '@zync/client';
import {Zero} from '@zync/client';
import {createSchema, number, string, table} from '@zync/zql';
import {act, render, renderHook, screen, waitFor} from '@testing-library/react';
import type {ReactNode} from 'react';
import {StrictMode} from 'react';
import {afterEach, expect, test} from 'vitest';
import {WebSocket} from 'ws';
import type {FakeZeroCache} from '../../../test/fake-zero-cache.ts';
import {pokeFrame, startFakeZeroCache} from '../../../test/fake-zero-cache.ts';
import {useQuery} from './use-query.ts';
import {useZeroOnline} from './use-zero-online.ts';
import {useZero, ZeroProvider} from './zero-provider.tsx';

const schema = createSchema({
  tables: [table('item').columns({id: string(), n: number()}).primaryKey('id')],
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

test('ZeroProvider renders nothing until its instance exists, then provides it', async () => {
  const seen: string[] = [];
  function Child() {
    seen.push(useZero().userID);
    return <p>child</p>;
  }
  const r = render(
    <ZeroProvider userID="u" schema={schema} server={null} kvStore="mem">
      <Child />
    </ZeroProvider>,
  );
  cleanups.push(() => r.unmount());
  await screen.findByText('child');
  expect(seen[0]).toBe('u');
});

test('ZeroProvider survives StrictMode (create, close, create)', async () => {
  function Child() {
    const z = useZero();
    return <p>{z.closed ? 'closed' : 'open'}</p>;
  }
  const r = render(
    <StrictMode>
      <ZeroProvider userID="u" schema={schema} server={null} kvStore="mem">
        <Child />
      </ZeroProvider>
    </StrictMode>,
  );
  cleanups.push(() => r.unmount());
  expect(await screen.findByText('open')).toBeTruthy();
});

test('useQuery returns [] before data, then rows and complete; one() gives undefined first', async () => {
  const srv = await server();
  const zero = new Zero({userID: 'u', schema, server: srv.server, kvStore: 'mem', createSocket});
  cleanups.push(() => zero.close());
  const wrapper = ({children}: {children: ReactNode}) => (
    <ZeroProvider zero={zero}>{children}</ZeroProvider>
  );
  const {result} = renderHook(
    () => ({
      list: useQuery(zero.query.item.orderBy('n', 'asc')),
      one: useQuery(zero.query.item.where('id', 'b').one()),
      online: useZeroOnline(),
    }),
    {wrapper},
  );
  expect(result.current.list[0]).toEqual([]);
  expect(result.current.list[1].type).toBe('unknown');
  expect(result.current.one[0]).toBeUndefined();
  await waitFor(() => expect(result.current.online).toBe(true));
  await waitFor(() => expect(srv.queryHashes().length).toBe(2));
  act(() => {
    srv.send(
      pokeFrame({
        rows: [
          {op: 'put', table: 'item', value: {id: 'a', n: 2}},
          {op: 'put', table: 'item', value: {id: 'b', n: 1}},
        ],
        gotQueries: srv.queryHashes().map(hash => ({op: 'put' as const, hash})),
      }),
    );
  });
  await waitFor(() => expect(result.current.list[1].type).toBe('complete'));
  expect(result.current.list[0]).toEqual([
    {id: 'b', n: 1},
    {id: 'a', n: 2},
  ]);
  expect(result.current.one[0]).toEqual({id: 'b', n: 1});
});

test('retry() on a useQuery error asks the server again and shows the new outcome', async () => {
  const srv = await server();
  const zero = new Zero({userID: 'u', schema, server: srv.server, kvStore: 'mem', createSocket});
  cleanups.push(() => zero.close());
  const wrapper = ({children}: {children: ReactNode}) => (
    <ZeroProvider zero={zero}>{children}</ZeroProvider>
  );
  const {result} = renderHook(() => useQuery(zero.query.item), {wrapper});
  await waitFor(() => expect(srv.queryHashes()).toHaveLength(1));
  const hash = srv.queryHashes()[0]!;
  act(() => {
    srv.send(pokeFrame({queryErrors: [{hash, kind: 'internal', message: 'replica busy'}]}));
  });
  await waitFor(() => expect(result.current[1].type).toBe('error'));
  const details = result.current[1];
  if (details.type !== 'error') throw new Error('expected an error result');
  expect(details.message).toBe('replica busy');
  act(() => details.retry());
  await waitFor(() => expect(srv.queryHashes()).toEqual([hash, hash]));
  expect(result.current[1].type).toBe('unknown');
  act(() => {
    srv.send(
      pokeFrame({
        baseVersion: '01',
        version: '02',
        rows: [{op: 'put', table: 'item', value: {id: 'a', n: 1}}],
        gotQueries: [{op: 'put', hash}],
      }),
    );
  });
  await waitFor(() => expect(result.current[1].type).toBe('complete'));
  expect(result.current[0]).toEqual([{id: 'a', n: 1}]);
});

test('useQuery with enabled: false stays empty and sends nothing', async () => {
  const srv = await server();
  const zero = new Zero({userID: 'u', schema, server: srv.server, kvStore: 'mem', createSocket});
  cleanups.push(() => zero.close());
  const wrapper = ({children}: {children: ReactNode}) => (
    <ZeroProvider zero={zero}>{children}</ZeroProvider>
  );
  const {result} = renderHook(() => useQuery(zero.query.item, {enabled: false}), {wrapper});
  await waitFor(() => expect(zero.online).toBe(true));
  expect(result.current[0]).toEqual([]);
  expect(srv.queryHashes()).toEqual([]);
});
