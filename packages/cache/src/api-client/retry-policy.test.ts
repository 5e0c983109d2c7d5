// The retry policy of the API server client against a real HTTP server on 127.0.0.1: what
// is retried, what is not, how many attempts are made and how long each wait is. Waits
// are recorded instead of slept.
import {ProtocolError} from '@zync/protocol';
import {afterEach, expect, test} from 'vitest';
import {captureLog} from '../../test/push-fixture.ts';
import {misbehavingServer, type MisbehavingServer} from '../../test/misbehaving-server.ts';
import {ApiClient, type ApiCall} from './api-client.ts';
import type {RetryPolicy} from './retry-policy.ts';

const servers: MisbehavingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(): Promise<MisbehavingServer> {
  const s = await misbehavingServer('/api');
  servers.push(s);
  return s;
}

/** A port nothing listens on: a server is started there, then closed. */
async function deadPort(): Promise<string> {
  const s = await misbehavingServer('/api');
  await s.close();
  return s.url;
}

const FAST: RetryPolicy = {initialDelayMs: 100, maxDelayMs: 400, maxElapsedMs: 60_000};

function client(url: string, retry: RetryPolicy = {...FAST, maxAttempts: 3}) {
  const waits: number[] = [];
  const log = captureLog();
  const api = new ApiClient(
    {
      url,
      apiKey: 'key-SECRET',
      forwardCookies: true,
      appID: 'app',
      shardSchema: 'app_0',
      timeoutMs: 2_000,
      retry,
      logger: log.logger,
      sleep: ms => {
        waits.push(ms);
        return Promise.resolve();
      },
    },
    {
      name: 'test',
      defaultTimeoutMs: 2_000,
      defaultRetry: FAST,
      refusal: status => `refused ${status}`,
    },
  );
  return {api, waits, log};
}

function call(over: Partial<ApiCall> = {}): ApiCall {
  return {
    body: '{"n":1}',
    credentials: () => ({token: 'tok-SECRET', cookie: 'c=SECRET'}),
    repeatable: true,
    ...over,
  };
}

const OK = {status: 200, body: '{"ok":true}'};

test.each([429, 500, 502, 503, 504])('HTTP %i is retried up to maxAttempts', async status => {
  const s = await server();
  s.handler = () => ({status, body: '{}'});
  const {api, waits, log} = client(s.url);
  expect(await api.post(call())).toEqual({kind: 'failed', reason: `HTTP ${status}`, attempts: 3});
  expect(s.hits).toBe(3);
  expect(waits).toEqual([100, 200]);
  expect(log.lines.filter(l => l.includes('retrying'))).toHaveLength(2);
  expect(log.lines.join('\n')).toMatch(/API server test failed; giving up.*"attempt":3/);
  expect(log.lines.join('\n')).not.toMatch(/SECRET/);
});

test.each([
  ['a reset connection', 'reset', 'network error'],
  ['an unreadable 2xx body', 'garbage', 'unreadable response'],
] as const)('%s is retried up to maxAttempts', async (_what, mode, reason) => {
  const s = await server();
  s.mode = mode;
  const {api} = client(s.url);
  expect(await api.post(call())).toEqual({kind: 'failed', reason, attempts: 3});
  expect(s.hits).toBe(3);
});

test('a refused connection is retried up to maxAttempts, repeatable or not', async () => {
  const url = await deadPort();
  for (const repeatable of [true, false]) {
    const {api, waits} = client(url);
    expect(await api.post(call({repeatable}))).toEqual({
      kind: 'failed',
      reason: 'network error (no connection)',
      attempts: 3,
    });
    expect(waits).toEqual([100, 200]);
  }
});

test('a failing server that recovers: the answer of the first good attempt', async () => {
  const s = await server();
  const replies = [{status: 502, body: ''}, {status: 500, body: '{}'}, OK];
  s.handler = () => replies.shift() ?? OK;
  const {api} = client(s.url, {...FAST, maxAttempts: 5});
  expect(await api.post(call())).toEqual({kind: 'answer', status: 200, json: {ok: true}});
  expect(s.hits).toBe(3);
});

test.each([
  [200, '{"ok":true}', {ok: true}],
  [200, 'null', null],
  [400, '{"error":"http"}', {error: 'http'}],
  [404, 'not json', undefined],
  [409, '{}', {}],
  [422, '{}', {}],
  [301, '', undefined],
  [302, '', undefined],
])('HTTP %i is an answer, never retried', async (status, body, json) => {
  const s = await server();
  s.handler = () => ({status, body, headers: {location: '/elsewhere'}});
  const {api, waits} = client(s.url);
  expect(await api.post(call())).toEqual({kind: 'answer', status, json});
  expect(s.hits).toBe(1);
  expect(waits).toEqual([]);
});

test.each([401, 403])('HTTP %i throws AuthInvalidated at once', async status => {
  const s = await server();
  s.handler = () => ({status, body: '{}'});
  const {api} = client(s.url);
  const err = await api.post(call()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProtocolError);
  expect(err).toMatchObject({kind: 'AuthInvalidated', message: `refused ${status}`});
  expect(s.hits).toBe(1);
});

test('a call that is not repeatable is not retried once the request may have been sent', async () => {
  const s = await server();
  const cases: [() => void, string][] = [
    [() => (s.handler = () => ({status: 500, body: '{}'})), 'HTTP 500'],
    [() => (s.handler = () => ({status: 504, body: '{}'})), 'HTTP 504'],
    [() => (s.mode = 'reset'), 'network error'],
    [() => (s.mode = 'garbage'), 'unreadable response'],
  ];
  for (const [breakIt, reason] of cases) {
    s.mode = 'ok';
    breakIt();
    s.hits = 0;
    const {api} = client(s.url);
    expect(await api.post(call({repeatable: false}))).toEqual({
      kind: 'failed',
      reason,
      attempts: 1,
    });
    expect(s.hits).toBe(1);
  }
  // 429 and 503 say that nothing was processed: retried all the same.
  for (const status of [429, 503]) {
    s.mode = 'ok';
    s.handler = () => ({status, body: '{}'});
    s.hits = 0;
    const {api} = client(s.url);
    expect(await api.post(call({repeatable: false}))).toMatchObject({attempts: 3});
    expect(s.hits).toBe(3);
  }
});

test('waits double up to maxDelayMs', async () => {
  const s = await server();
  s.handler = () => ({status: 500, body: '{}'});
  const {api, waits} = client(s.url, {...FAST, maxAttempts: 6});
  expect(await api.post(call())).toMatchObject({kind: 'failed', attempts: 6});
  expect(waits).toEqual([100, 200, 400, 400, 400]);
  expect(s.hits).toBe(6);
});

test('without maxAttempts, maxElapsedMs bounds the attempts', async () => {
  const s = await server();
  s.handler = () => ({status: 500, body: '{}'});
  // Waits of 1 s and 2 s fit in 3.5 s; the next (4 s) would not.
  const {api, waits} = client(s.url, {
    initialDelayMs: 1_000,
    maxDelayMs: 60_000,
    maxElapsedMs: 3_500,
  });
  expect(await api.post(call())).toMatchObject({kind: 'failed', attempts: 3});
  expect(waits).toEqual([1_000, 2_000]);
});

test('Retry-After lengthens a wait on 429/503, up to maxDelayMs', async () => {
  const s = await server();
  const replies = [
    {status: 500, body: '{}', headers: {'retry-after': '1'}},
    {status: 503, body: '{}', headers: {'retry-after': '0'}},
    {status: 429, body: '{}', headers: {'retry-after': '1'}},
    {status: 503, body: '{}', headers: {'retry-after': 'soon'}},
    OK,
  ];
  s.handler = () => replies.shift() ?? OK;
  const {api, waits} = client(s.url, {...FAST, maxDelayMs: 700, maxAttempts: 5});
  expect(await api.post(call())).toMatchObject({kind: 'answer', status: 200});
  // Ignored on a 500; 0 s asks for less than the backoff; 1 s is capped at 700 ms; an
  // unreadable value is ignored.
  expect(waits).toEqual([100, 200, 700, 700]);
});

test('each attempt reads the credentials again; the headers are sent, never logged', async () => {
  const s = await server();
  const replies = [{status: 500, body: '{}'}, OK];
  s.handler = () => replies.shift() ?? OK;
  const tokens = ['tok-SECRET-1', 'tok-SECRET-2'];
  const {api, log} = client(s.url);
  await api.post(call({credentials: () => ({token: tokens.shift(), cookie: 'c=SECRET'})}));
  expect(s.requests.map(h => h['authorization'])).toEqual([
    'Bearer tok-SECRET-1',
    'Bearer tok-SECRET-2',
  ]);
  expect(s.requests[1]).toMatchObject({'x-api-key': 'key-SECRET', cookie: 'c=SECRET'});
  expect(log.lines.join('\n')).not.toMatch(/SECRET/);
});

test('retrying stops once the call is no longer live', async () => {
  const s = await server();
  s.handler = () => ({status: 500, body: '{}'});
  let live = true;
  const {api} = client(s.url, {...FAST, maxAttempts: 10});
  const result = await api.post(
    call({
      live: () => {
        if (s.hits === 2) live = false;
        return live;
      },
    }),
  );
  expect(result).toMatchObject({kind: 'failed', attempts: 2});
  expect(s.hits).toBe(2);
});

test('a header value HTTP cannot carry fails at once, without a request', async () => {
  const s = await server();
  const {api} = client(s.url);
  const result = await api.post(call({credentials: () => ({token: 'a\r\nb', cookie: undefined})}));
  expect(result).toMatchObject({kind: 'failed', attempts: 1});
  expect(s.hits).toBe(0);
});

test('a bad policy or URL is refused when the client is made, naming the problem', () => {
  expect(() => client('http://127.0.0.1:1/', {...FAST, maxAttempts: 0})).toThrow(
    /retry\.maxAttempts must be a whole number/,
  );
  expect(() => client('http://127.0.0.1:1/', {...FAST, initialDelayMs: -1})).toThrow(
    /retry\.initialDelayMs must be a positive number/,
  );
  expect(() => client('ftp://127.0.0.1/')).toThrow(/must be http\(s\) \(got ftp:\)/);
});
