// The socket URL names the client group (zero-cache routes the socket by it), and a server
// that closes with 1012 (Service Restart) is reconnected to at once, without the backoff
// timer; any other close waits for the backoff.
import type {ConnectBody} from '@zync/protocol';
import {decodeUpstream, encodeFrame, PROTOCOL_VERSION, SYNC_PATH} from '@zync/protocol';
import {silentLogger} from '@zync/shared';
import {afterEach, expect, test, vi} from 'vitest';
import {WebSocket, WebSocketServer} from 'ws';
import {AuthSource} from './auth-source.ts';
import {Connection, type SocketLike} from './connection.ts';
import {ConnectionStateStore} from './connection-state.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Accepts each connect, then closes the first socket with `closeCode`. */
async function server(closeCode: number) {
  const wss = new WebSocketServer({host: '127.0.0.1', port: 0, path: SYNC_PATH});
  await new Promise<void>(r => wss.once('listening', r));
  const urls: string[] = [];
  wss.on('connection', (ws, req) => {
    urls.push(req.url ?? '');
    const first = urls.length === 1;
    ws.on('message', data => {
      if (decodeUpstream((data as Buffer).toString())[0] !== 'connect') return;
      ws.send(encodeFrame(['connected', {wsid: 'w', tokenExpiresAt: null}]));
      if (first) setImmediate(() => ws.close(closeCode, 'bye'));
    });
  });
  cleanups.push(() => new Promise<void>(r => wss.close(() => r())));
  return {url: `http://127.0.0.1:${(wss.address() as {port: number}).port}`, urls};
}

function connect(url: string) {
  const state = new ConnectionStateStore({name: 'connecting'});
  const conn = new Connection({
    server: url,
    auth: new AuthSource(undefined),
    state,
    logger: silentLogger,
    buildConnect: (): ConnectBody => ({
      protocolVersion: PROTOCOL_VERSION,
      clientID: 'c1',
      clientGroupID: 'g 1',
      userID: 'u1',
      baseVersion: null,
      lastMutationID: 0,
      desiredQueries: [],
    }),
    onFrame: () => {},
    urlParams: () => ({clientGroupID: 'g 1', clientID: 'c1'}),
    createSocket: u => new WebSocket(u) as unknown as SocketLike,
  });
  cleanups.push(() => conn.close());
  conn.start();
  return state;
}

test('the URL carries clientGroupID; a 1012 close reconnects without waiting for a timer', async () => {
  // Timers only advance when told: a reconnect through the backoff timer would never come.
  vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout']});
  const s = await server(1012);
  connect(s.url);
  await vi.waitFor(() => expect(s.urls).toHaveLength(2), {interval: 5});
  const params = new URL(s.urls[0]!, 'http://x').searchParams;
  expect(params.get('clientGroupID')).toBe('g 1');
  expect(params.get('clientID')).toBe('c1');
  expect(s.urls[1]).toBe(s.urls[0]);
});

test('another close code waits for the backoff timer', async () => {
  vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout']});
  const s = await server(1001);
  const state = connect(s.url);
  await vi.waitFor(() => expect(state.current.name).toBe('disconnected'), {interval: 5});
  expect(s.urls).toHaveLength(1);
  vi.advanceTimersByTime(10_000);
  await vi.waitFor(() => expect(s.urls).toHaveLength(2), {interval: 5});
});
