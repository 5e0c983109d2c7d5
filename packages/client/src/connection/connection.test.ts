import type {ConnectBody, DownstreamFrame, UpstreamFrame} from '@zync/protocol';
import {decodeUpstream, encodeFrame, PROTOCOL_VERSION, SYNC_PATH} from '@zync/protocol';
import {silentLogger} from '@zync/shared';
import {afterEach, describe, expect, test, vi} from 'vitest';
import {WebSocket, WebSocketServer} from 'ws';
import type {AuthOption} from './auth-source.ts';
import {AuthSource} from './auth-source.ts';
import type {SocketLike} from './connection.ts';
import {Connection, toWebSocketURL} from './connection.ts';
import type {ConnectionState} from './connection-state.ts';
import {ConnectionStateStore} from './connection-state.ts';

type Behaviour = (
  frame: UpstreamFrame,
  send: (f: DownstreamFrame) => void,
  close: () => void,
) => void;

async function fakeServer(behaviour: Behaviour) {
  const wss = new WebSocketServer({host: '127.0.0.1', port: 0, path: SYNC_PATH});
  await new Promise<void>(r => wss.once('listening', r));
  const received: UpstreamFrame[] = [];
  let sockets = 0;
  wss.on('connection', ws => {
    sockets++;
    ws.on('message', data => {
      const frame = decodeUpstream((data as Buffer).toString());
      received.push(frame);
      behaviour(
        frame,
        f => ws.send(encodeFrame(f)),
        () => ws.close(),
      );
    });
  });
  const addr = wss.address() as {port: number};
  return {
    server: `http://127.0.0.1:${addr.port}`,
    received,
    sockets: () => sockets,
    close: () => new Promise<void>(r => wss.close(() => r())),
  };
}

const accept: Behaviour = (frame, send) => {
  if (frame[0] === 'connect') send(['connected', {wsid: 'w', tokenExpiresAt: null}]);
  if (frame[0] === 'ping') send(['pong', {}]);
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.useRealTimers();
});

/**
 * The connection's timers and `Date` run on a virtual clock the test advances; the
 * sockets stay real. Checks that something does *not* happen ("no retry") then cover
 * minutes of virtual time instead of sleeping a little real time.
 */
function virtualClock(): void {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
}

/** Longer than any backoff, ping, connect or refresh delay of the connection. */
const TEN_MINUTES = 10 * 60_000;
/** Keeps pings out of a test that moves the virtual clock past the ping interval. */
const NO_PINGS = {pingIntervalMs: 24 * 60 * 60_000};

function makeConnection(server: string, auth: AuthOption | undefined, extra = {}) {
  const state = new ConnectionStateStore({name: 'connecting'});
  const states: ConnectionState[] = [];
  state.subscribe(s => states.push(s));
  const frames: DownstreamFrame[] = [];
  let created = 0;
  const conn = new Connection({
    server,
    auth: new AuthSource(auth),
    state,
    logger: silentLogger,
    buildConnect: (token): ConnectBody => ({
      protocolVersion: PROTOCOL_VERSION,
      clientID: 'c1',
      clientGroupID: 'g1',
      userID: 'u1',
      baseVersion: null,
      lastMutationID: 0,
      desiredQueries: [],
      ...(token === undefined ? {} : {auth: token}),
    }),
    onFrame: f => frames.push(f),
    createSocket: url => {
      created++;
      return new WebSocket(url) as unknown as SocketLike;
    },
    ...extra,
  });
  cleanups.push(() => conn.close());
  conn.start();
  return {conn, state, states, frames, created: () => created};
}

function jwtWithExp(expSeconds: number): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({alg: 'HS256'})}.${enc({sub: 'u1', exp: expSeconds})}.sig`;
}

describe('Connection', () => {
  test('toWebSocketURL maps http(s) and keeps one path segment', () => {
    expect(toWebSocketURL('http://h:4848')).toBe(`ws://h:4848${SYNC_PATH}`);
    expect(toWebSocketURL('https://h/zero/')).toBe(`wss://h/zero${SYNC_PATH}`);
  });

  test('sends the token in the connect frame and reports connected', async () => {
    const srv = await fakeServer(accept);
    cleanups.push(srv.close);
    const {state} = makeConnection(srv.server, 'tok-1');
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    const first = srv.received[0];
    expect(first?.[0]).toBe('connect');
    expect(first?.[0] === 'connect' && first[1].auth).toBe('tok-1');
  });

  test('a rejected string token goes to needs-auth without retrying', async () => {
    virtualClock();
    const srv = await fakeServer((f, send) => {
      if (f[0] === 'connect') send(['error', {kind: 'AuthInvalidated', message: 'Token expired'}]);
    });
    cleanups.push(srv.close);
    const {state, created} = makeConnection(srv.server, 'secret-token-text');
    await vi.waitFor(() => expect(state.current.name).toBe('needs-auth'));
    expect(state.current.reason).toContain('AuthInvalidated');
    expect(state.current.reason).not.toContain('secret-token-text');
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    expect(created()).toBe(1);
    expect(srv.sockets()).toBe(1);
    expect(state.current.name).toBe('needs-auth');
  });

  test('a function is asked again after a rejection; two rejections end in needs-auth', async () => {
    const srv = await fakeServer((f, send) => {
      if (f[0] === 'connect') send(['error', {kind: 'AuthInvalidated', message: 'bad'}]);
    });
    cleanups.push(srv.close);
    const calls: (string | undefined)[] = [];
    const {state} = makeConnection(srv.server, (err?: 'invalid-token') => {
      calls.push(err);
      return `t${calls.length}`;
    });
    await vi.waitFor(() => expect(state.current.name).toBe('needs-auth'));
    expect(calls).toEqual([undefined, 'invalid-token']);
    expect(srv.sockets()).toBe(2);
  });

  test('a function that recovers gets connected with the new token', async () => {
    const srv = await fakeServer((f, send) => {
      if (f[0] !== 'connect') return;
      if (f[1].auth === 'good') send(['connected', {wsid: 'w', tokenExpiresAt: null}]);
      else send(['error', {kind: 'AuthInvalidated', message: 'bad'}]);
    });
    cleanups.push(srv.close);
    const {state} = makeConnection(srv.server, (err?: 'invalid-token') => (err ? 'good' : 'bad'));
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
  });

  test('returning undefined from the function means needs-auth', async () => {
    const srv = await fakeServer((f, send) => {
      if (f[0] === 'connect') send(['error', {kind: 'AuthInvalidated', message: 'bad'}]);
    });
    cleanups.push(srv.close);
    const {state} = makeConnection(srv.server, (err?: 'invalid-token') => (err ? undefined : 'x'));
    await vi.waitFor(() => expect(state.current.name).toBe('needs-auth'));
  });

  test('reconnects after the server drops the socket', async () => {
    let n = 0;
    const srv = await fakeServer((f, send, close) => {
      if (f[0] !== 'connect') return;
      send(['connected', {wsid: 'w', tokenExpiresAt: null}]);
      // The close frame follows the connected frame on the socket.
      if (++n === 1) close();
    });
    cleanups.push(srv.close);
    const {state, states} = makeConnection(srv.server, undefined);
    await vi.waitFor(() => expect(srv.sockets()).toBe(2), {timeout: 5000});
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    expect(states.map(s => s.name)).toContain('disconnected');
  });

  test('connect({auth}) on a live connection sends updateAuth without reconnecting', async () => {
    const srv = await fakeServer(accept);
    cleanups.push(srv.close);
    const {conn, state} = makeConnection(srv.server, 'a');
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    conn.connect({auth: 'b'});
    await vi.waitFor(() => expect(srv.received.some(f => f[0] === 'updateAuth')).toBe(true));
    expect(srv.sockets()).toBe(1);
  });

  test('connect({auth}) from needs-auth reconnects with the new token', async () => {
    const srv = await fakeServer((f, send) => {
      if (f[0] !== 'connect') return;
      if (f[1].auth === 'fresh') send(['connected', {wsid: 'w', tokenExpiresAt: null}]);
      else send(['error', {kind: 'AuthInvalidated', message: 'bad'}]);
    });
    cleanups.push(srv.close);
    const {conn, state} = makeConnection(srv.server, 'stale');
    await vi.waitFor(() => expect(state.current.name).toBe('needs-auth'));
    conn.connect({auth: 'fresh'});
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
  });

  test('refreshes a JWT through the function refreshLeadMs before it expires, on the live socket', async () => {
    virtualClock();
    vi.setSystemTime(1_700_000_000_000);
    const srv = await fakeServer(accept);
    cleanups.push(srv.close);
    const exp = 1_700_000_060; // one minute from the start, in seconds
    const lead = 20_000;
    let calls = 0;
    const {state} = makeConnection(
      srv.server,
      () => {
        calls++;
        return jwtWithExp(exp);
      },
      {refreshLeadMs: lead, ...NO_PINGS},
    );
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    expect(calls).toBe(1);
    const refreshAt = exp * 1000 - lead;
    await vi.advanceTimersByTimeAsync(refreshAt - Date.now() - 1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.waitFor(() => expect(srv.received.some(f => f[0] === 'updateAuth')).toBe(true));
    expect(srv.sockets()).toBe(1);
  });

  test('a fatal error goes to the error state', async () => {
    const srv = await fakeServer((f, send) => {
      if (f[0] === 'connect') send(['error', {kind: 'VersionNotSupported', message: 'v2 only'}]);
    });
    cleanups.push(srv.close);
    const {state} = makeConnection(srv.server, undefined);
    await vi.waitFor(() => expect(state.current.name).toBe('error'));
  });

  test('pings detect a dead server', async () => {
    const srv = await fakeServer((f, send) => {
      if (f[0] === 'connect') send(['connected', {wsid: 'w', tokenExpiresAt: null}]);
      // never answers pings
    });
    cleanups.push(srv.close);
    const {states} = makeConnection(srv.server, undefined, {
      pingIntervalMs: 100,
      pongTimeoutMs: 100,
    });
    await vi.waitFor(() =>
      expect(states.some(s => s.reason === 'The server did not answer a ping')).toBe(true),
    );
  });

  test('a hidden tab disconnects after the delay and reconnects when visible', async () => {
    virtualClock();
    const srv = await fakeServer(accept);
    cleanups.push(srv.close);
    const delay = 30_000;
    const {conn, state, created} = makeConnection(srv.server, undefined, {
      hiddenTabDisconnectDelayMs: delay,
      ...NO_PINGS,
    });
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    conn.setHidden(true);
    await vi.advanceTimersByTimeAsync(delay - 1);
    expect(state.current.name).toBe('connected');
    await vi.advanceTimersByTimeAsync(1);
    expect(state.current.name).toBe('disconnected');
    // Hidden, it does not come back on its own.
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    expect(state.current.name).toBe('disconnected');
    expect(created()).toBe(1);
    conn.setHidden(false);
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    expect(created()).toBe(2);
  });

  test('the connect timeout counts the socket and the server, not a slow buildConnect', async () => {
    const srv = await fakeServer(accept);
    cleanups.push(srv.close);
    let release!: () => void;
    const gate = new Promise<void>(r => (release = r));
    const {state, states} = makeConnection(srv.server, undefined, {
      connectTimeoutMs: 50,
      // Like a client whose local store is still opening.
      buildConnect: async (): Promise<ConnectBody> => {
        await gate;
        return {
          protocolVersion: PROTOCOL_VERSION,
          clientID: 'c1',
          clientGroupID: 'g1',
          userID: 'u1',
          baseVersion: null,
          lastMutationID: 0,
          desiredQueries: [],
        };
      },
    });
    await vi.waitFor(() => expect(srv.sockets()).toBe(1));
    // Four timeouts' worth of waiting for buildConnect: no timeout, no new socket.
    await new Promise(r => setTimeout(r, 200));
    expect(states.some(s => s.reason === 'Connect timed out')).toBe(false);
    release();
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    expect(srv.sockets()).toBe(1);
  });

  test('a connect frame the server does not answer times out', async () => {
    const srv = await fakeServer(() => {});
    cleanups.push(srv.close);
    const {states} = makeConnection(srv.server, undefined, {connectTimeoutMs: 50});
    await vi.waitFor(() => expect(states.some(s => s.reason === 'Connect timed out')).toBe(true));
    expect(srv.received[0]?.[0]).toBe('connect');
  });

  test('close() ends in closed and opens nothing more', async () => {
    virtualClock();
    const srv = await fakeServer(accept);
    cleanups.push(srv.close);
    const {conn, state, created} = makeConnection(srv.server, undefined);
    await vi.waitFor(() => expect(state.current.name).toBe('connected'));
    conn.close();
    expect(state.current.name).toBe('closed');
    await vi.advanceTimersByTimeAsync(TEN_MINUTES);
    expect(state.current.name).toBe('closed');
    expect(created()).toBe(1);
    expect(srv.sockets()).toBe(1);
  });
});
