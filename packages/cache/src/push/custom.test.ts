import http from 'node:http';
import type {AddressInfo} from 'node:net';
import pg from 'pg';
import {ProtocolError, type Mutation, type PushBody} from '@zync/protocol';
import {afterEach, expect, test, vi} from 'vitest';
import {captureLog} from '../../test/push-fixture.ts';
import {ZeroPusher, type PushRequestContext} from './zero-pusher.ts';

const TOKEN = 'tok-SECRET-1';
const API_KEY = 'key-SECRET-2';
const COOKIE = 'session=SECRET-3';

type Received = {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  remotePort: number | undefined;
};
type Reply = {status: number; body?: unknown} | 'default';

/** A fake API server: records requests, answers from `replies` first, then processes. */
class FakeApiServer {
  readonly received: Received[] = [];
  readonly applied: string[] = [];
  readonly replies: Reply[] = [];
  appError: string | undefined;
  readonly #lmids = new Map<string, number>();
  readonly #server: http.Server;

  constructor() {
    this.#server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        this.received.push({
          url: req.url ?? '',
          headers: req.headers,
          body,
          remotePort: req.socket.remotePort,
        });
        const reply = this.replies.shift() ?? 'default';
        const {status, body: out} =
          reply === 'default' ? {status: 200, body: this.#process(body)} : reply;
        res.writeHead(status, {'content-type': 'application/json'});
        res.end(out === undefined ? '' : JSON.stringify(out));
      });
    });
  }

  #process(body: Record<string, unknown>) {
    const mutations = body['mutations'] as {id: number; clientID: string; name: string}[];
    return {
      mutations: mutations.map(m => {
        const last = this.#lmids.get(m.clientID) ?? 0;
        const id = {id: m.id, clientID: m.clientID};
        if (m.id <= last) return {id, result: {error: 'alreadyProcessed'}};
        if (m.id > last + 1) return {id, result: {error: 'oooMutation'}};
        this.#lmids.set(m.clientID, m.id);
        if (m.name === this.appError) {
          return {id, result: {error: 'app', message: 'title taken', details: {field: 'title'}}};
        }
        this.applied.push(`${m.clientID}:${m.id}`);
        return {id, result: {}};
      }),
    };
  }

  listen(port = 0): Promise<number> {
    return new Promise(resolve =>
      this.#server.listen(port, '127.0.0.1', () =>
        resolve((this.#server.address() as AddressInfo).port),
      ),
    );
  }

  close(): Promise<void> {
    return new Promise(resolve => this.#server.close(() => resolve()));
  }
}

const servers: FakeApiServer[] = [];
const pools: pg.Pool[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const p of pools.splice(0)) await p.end();
});

async function fakeServer(port?: number) {
  const s = new FakeApiServer();
  servers.push(s);
  return {server: s, port: await s.listen(port)};
}

function makePusher(port: number, opts: {forwardCookies?: boolean; apiKey?: string} = {}) {
  const log = captureLog();
  // Custom mutations never touch Postgres; the pool is never connected.
  const pool = new pg.Pool({connectionString: 'postgres://127.0.0.1:1/none'});
  pools.push(pool);
  const pusher = new ZeroPusher({
    db: pool,
    appID: 'myapp',
    jwtAuth: false,
    mutate: {
      url: `http://127.0.0.1:${port}/api/push?x=1`,
      apiKey: opts.apiKey,
      forwardCookies: opts.forwardCookies ?? false,
      timeoutMs: 2000,
      retry: {initialDelayMs: 20, maxDelayMs: 100, maxElapsedMs: 5000},
    },
    logger: log.logger,
  });
  return {pusher, log};
}

let token: string | undefined = TOKEN;
function ctx(): PushRequestContext {
  return {clientGroupID: 'g1', userID: 'u1', authData: {}, token: () => token, cookie: COOKIE};
}

function custom(id: number, name = 'issue.create'): Mutation {
  return {
    type: 'custom',
    id,
    clientID: 'c1',
    name,
    args: [{title: 'private words'}],
    timestamp: 1000 + id,
  };
}

function push(...mutations: Mutation[]): PushBody {
  return {clientGroupID: 'g1', requestID: 'req-1', mutations};
}

afterEach(() => {
  token = TOKEN;
});

test("Zero's request shape, query string and headers (current Bearer token, api key, no cookie)", async () => {
  const {server, port} = await fakeServer();
  const {pusher, log} = makePusher(port, {apiKey: API_KEY});
  const res = await pusher.process(push(custom(1)), ctx());
  expect(res).toEqual({mutations: [{clientID: 'c1', id: 1, result: {type: 'ok'}}]});
  const [req] = server.received;
  const url = new URL(req?.url ?? '', 'http://x');
  expect(url.pathname).toBe('/api/push');
  expect(Object.fromEntries(url.searchParams)).toEqual({
    x: '1',
    appID: 'myapp',
    schema: 'zync_myapp',
  });
  expect(req?.headers['content-type']).toBe('application/json');
  expect(req?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
  expect(req?.headers['x-api-key']).toBe(API_KEY);
  expect(req?.headers['cookie']).toBeUndefined();
  expect(req?.body).toEqual({
    clientGroupID: 'g1',
    mutations: [
      {
        type: 'custom',
        id: 1,
        clientID: 'c1',
        name: 'issue.create',
        args: [{title: 'private words'}],
        timestamp: 1001,
      },
    ],
    pushVersion: 1,
    timestamp: expect.any(Number) as unknown,
    requestID: 'req-1',
  });

  token = 'tok-SECRET-refreshed';
  await pusher.process(push(custom(2)), ctx());
  expect(server.received[1]?.headers['authorization']).toBe('Bearer tok-SECRET-refreshed');
  token = undefined;
  await pusher.process(push(custom(3)), ctx());
  expect(server.received[2]?.headers['authorization']).toBeUndefined();
  expect(server.applied).toEqual(['c1:1', 'c1:2', 'c1:3']);
  expect(log.lines.join('\n')).not.toMatch(/SECRET|private words/);
});

test('cookies are forwarded only when the flag is on', async () => {
  const {server, port} = await fakeServer();
  const {pusher} = makePusher(port, {forwardCookies: true});
  await pusher.process(push(custom(1)), ctx());
  expect(server.received[0]?.headers['cookie']).toBe(COOKIE);
  expect(server.received[0]?.headers['x-api-key']).toBeUndefined();
});

test('500 twice, then success: applied once, in order, later pushes wait', async () => {
  const {server, port} = await fakeServer();
  const {pusher, log} = makePusher(port, {apiKey: API_KEY});
  server.replies.push({status: 500, body: {}}, {status: 503});
  const first = pusher.process(push(custom(1), custom(2)), ctx());
  const second = pusher.process(push(custom(3)), ctx());
  const [r1, r2] = await Promise.all([first, second]);
  expect(r1.mutations.map(m => m.id)).toEqual([1, 2]);
  expect(r2.mutations.map(m => m.id)).toEqual([3]);
  expect(server.received).toHaveLength(4);
  expect(server.applied).toEqual(['c1:1', 'c1:2', 'c1:3']);
  expect(log.lines.some(l => l.includes('retrying') && l.includes('HTTP 500'))).toBe(true);
  expect(log.lines.join('\n')).not.toMatch(/SECRET|private words/);
});

test('API server down for a while: the pushes wait, then apply in order', async () => {
  const probe = await fakeServer();
  const port = probe.port;
  await probe.server.close();
  servers.splice(0);
  const {pusher, log} = makePusher(port);
  const first = pusher.process(push(custom(1)), ctx());
  const second = pusher.process(push(custom(2), custom(3)), ctx());
  // The first attempt failed and is being retried when the API server comes up.
  await vi.waitFor(() => expect(log.lines.some(l => l.includes('network error'))).toBe(true));
  const {server} = await fakeServer(port);
  await Promise.all([first, second]);
  expect(server.applied).toEqual(['c1:1', 'c1:2', 'c1:3']);
});

test('retries run out: PushFailed, nothing answered as processed', async () => {
  const {server, port} = await fakeServer();
  const log = captureLog();
  const pool = new pg.Pool({connectionString: 'postgres://127.0.0.1:1/none'});
  pools.push(pool);
  const pusher = new ZeroPusher({
    db: pool,
    appID: 'myapp',
    jwtAuth: false,
    mutate: {
      url: `http://127.0.0.1:${port}/`,
      apiKey: undefined,
      forwardCookies: false,
      retry: {initialDelayMs: 10, maxDelayMs: 20, maxElapsedMs: 100},
    },
    logger: log.logger,
  });
  for (let i = 0; i < 50; i++) server.replies.push({status: 502});
  await expect(pusher.process(push(custom(1)), ctx())).rejects.toMatchObject({kind: 'PushFailed'});
  expect(server.applied).toEqual([]);
});

test('401/403: nothing lost, AuthInvalidated; after a token refresh the resend applies', async () => {
  const {server, port} = await fakeServer();
  const {pusher, log} = makePusher(port);
  server.replies.push({status: 401, body: {error: 'bad token'}});
  const refused = pusher.process(push(custom(1), custom(2)), ctx());
  await expect(refused).rejects.toBeInstanceOf(ProtocolError);
  await expect(refused).rejects.toMatchObject({kind: 'AuthInvalidated'});
  expect(server.applied).toEqual([]);

  server.replies.push({status: 403});
  await expect(pusher.process(push(custom(1), custom(2)), ctx())).rejects.toMatchObject({
    kind: 'AuthInvalidated',
  });

  token = 'tok-SECRET-new';
  const res = await pusher.process(push(custom(1), custom(2)), ctx());
  expect(res.mutations.map(m => m.result.type)).toEqual(['ok', 'ok']);
  expect(server.applied).toEqual(['c1:1', 'c1:2']);
  expect(server.received.at(-1)?.headers['authorization']).toBe('Bearer tok-SECRET-new');
  expect(log.lines.join('\n')).not.toMatch(/SECRET/);
});

test('app errors are forwarded; already processed ids say so; out-of-order is a protocol error', async () => {
  const {server, port} = await fakeServer();
  const {pusher} = makePusher(port);
  server.appError = 'issue.bad';
  const res = await pusher.process(push(custom(1), custom(2, 'issue.bad'), custom(3)), ctx());
  expect(res.mutations).toEqual([
    {clientID: 'c1', id: 1, result: {type: 'ok'}},
    {
      clientID: 'c1',
      id: 2,
      result: {type: 'error', error: 'app', message: 'title taken', details: {field: 'title'}},
    },
    {clientID: 'c1', id: 3, result: {type: 'ok'}},
  ]);
  const again = await pusher.process(push(custom(3), custom(4)), ctx());
  expect(again.mutations).toEqual([
    {clientID: 'c1', id: 3, result: {type: 'alreadyProcessed'}},
    {clientID: 'c1', id: 4, result: {type: 'ok'}},
  ]);
  await expect(pusher.process(push(custom(9)), ctx())).rejects.toMatchObject({
    kind: 'InvalidMessage',
  });
  expect(server.applied).toEqual(['c1:1', 'c1:3', 'c1:4']);
});

test('the SyncServer hook reads the Cookie header of the upgrade request', async () => {
  const {server, port} = await fakeServer();
  const {pusher} = makePusher(port, {forwardCookies: true});
  const upgrade = {headers: {cookie: COOKIE}} as unknown as http.IncomingMessage;
  await pusher.push(push(custom(1)), {
    clientID: 'c1',
    clientGroupID: 'g1',
    userID: 'u1',
    authData: {},
    token: TOKEN,
    upgrade,
  });
  expect(server.received[0]?.headers['cookie']).toBe(COOKIE);
  expect(server.received[0]?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
});

test('a request-level refusal fails each mutation with a zero error, without retrying', async () => {
  const {server, port} = await fakeServer();
  const {pusher} = makePusher(port);
  server.replies.push({
    status: 400,
    body: {error: 'http', status: 400, details: 'invalid push request: private words'},
  });
  const res = await pusher.process(push(custom(1), custom(2)), ctx());
  expect(res.mutations).toEqual(
    [1, 2].map(id => ({
      clientID: 'c1',
      id,
      result: {
        type: 'error',
        error: 'zero',
        message: 'The API server refused the push request (http 400)',
      },
    })),
  );
  server.replies.push({status: 200, body: {error: 'unsupportedPushVersion'}});
  const res2 = await pusher.process(push(custom(1)), ctx());
  expect(res2.mutations[0]?.result).toMatchObject({
    message: expect.stringContaining('unsupportedPushVersion') as unknown,
  });
  expect(server.received).toHaveLength(2);
});

test('a redirect is followed; later pushes reuse one kept-alive connection', async () => {
  const {server, port} = await fakeServer();
  const redirector = http.createServer((req, res) => {
    req.resume();
    res.writeHead(307, {location: `http://127.0.0.1:${port}${req.url ?? ''}`}).end();
  });
  await new Promise<void>(r => redirector.listen(0, '127.0.0.1', r));
  try {
    const {pusher: viaRedirect} = makePusher((redirector.address() as AddressInfo).port);
    expect(await viaRedirect.process(push(custom(1)), ctx())).toEqual({
      mutations: [{clientID: 'c1', id: 1, result: {type: 'ok'}}],
    });
  } finally {
    await new Promise(r => redirector.close(r));
  }
  const {pusher} = makePusher(port);
  for (let id = 2; id <= 4; id++) await pusher.process(push(custom(id)), ctx());
  expect(server.applied).toEqual(['c1:1', 'c1:2', 'c1:3', 'c1:4']);
  const sockets = new Set(server.received.slice(1).map(r => r.remotePort));
  expect(sockets.size).toBe(1);
});
