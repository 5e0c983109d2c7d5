// One bounded POST against real servers on 127.0.0.1: which redirects are followed, the
// size cap, and what a failure says about the request having been sent.
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterEach, expect, test} from 'vitest';
import {misbehavingServer, type MisbehavingServer} from '../../test/misbehaving-server.ts';
import {MAX_REDIRECTS, postBounded, PostFailure, redirectTarget} from './http-post.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function target(): Promise<MisbehavingServer> {
  const s = await misbehavingServer('/api');
  closers.push(() => s.close());
  s.handler = body => ({status: 200, body: JSON.stringify({echo: body})});
  return s;
}

/** Answers every request with `status` and a Location of `location(url)`. */
async function redirector(status: number, location: (url: string) => string) {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(status, {location: location(req.url ?? '/')}).end();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise(r => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  return {port, url: new URL(`http://127.0.0.1:${port}/api`), hits: () => hits};
}

const limits = {timeoutMs: 2_000, maxBytes: 1024 * 1024};
const headers = {'content-type': 'application/json', authorization: 'Bearer tok'};

test.each([307, 308])(
  'a %i to the same host is followed with the method, body and headers',
  async status => {
    const s = await target();
    const r = await redirector(status, path => `${new URL(s.url).origin}${path}`);
    const res = await postBounded(r.url, '{"a":1}', headers, limits);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({echo: '{"a":1}'});
    expect(s.requests[0]?.['authorization']).toBe('Bearer tok');
  },
);

test('a redirect to another host is not followed: its status is the answer', async () => {
  const s = await target();
  const port = new URL(s.url).port;
  const r = await redirector(307, path => `http://localhost:${port}${path}`);
  const res = await postBounded(r.url, '{}', headers, limits);
  expect(res.status).toBe(307);
  expect(s.hits).toBe(0);
});

test('a redirect loop ends after MAX_REDIRECTS hops with the last status', async () => {
  const r = await redirector(308, path => path);
  const res = await postBounded(r.url, '{}', headers, limits);
  expect(res.status).toBe(308);
  expect(r.hits()).toBe(MAX_REDIRECTS + 1);
});

test('which redirects may be followed', () => {
  const from = new URL('https://api.example.com/push');
  expect(redirectTarget(from, 307, '/v2/push')?.href).toBe('https://api.example.com/v2/push');
  expect(redirectTarget(from, 308, 'https://api.example.com:8443/p')?.port).toBe('8443');
  expect(redirectTarget(from, 307, 'http://api.example.com/push')).toBeUndefined();
  expect(redirectTarget(from, 307, 'https://evil.example.com/push')).toBeUndefined();
  expect(redirectTarget(from, 307, 'https://u:p@api.example.com/push')).toBeUndefined();
  expect(redirectTarget(from, 301, '/v2/push')).toBeUndefined();
  expect(redirectTarget(from, 303, '/v2/push')).toBeUndefined();
  const plain = new URL('http://api.example.com/push');
  expect(redirectTarget(plain, 307, 'https://api.example.com/push')?.protocol).toBe('https:');
});

test('an answer whose length is over the size cap fails as too large, unread', async () => {
  const s = await target();
  s.mode = 'big';
  s.bigBytes = 4096;
  const err = await postBounded(new URL(s.url), '{}', headers, {...limits, maxBytes: 1024}).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PostFailure);
  expect((err as PostFailure).failure).toEqual({reason: 'response too large', sent: true});
  s.mode = 'ok';
  const ok = await postBounded(new URL(s.url), '{}', headers, {...limits, maxBytes: 1024});
  expect(ok.status).toBe(200);
});

test('a refused connection says the request was not sent; a reset says it may have been', async () => {
  const s = await target();
  s.mode = 'reset';
  const reset = await postBounded(new URL(s.url), '{}', headers, limits).catch((e: unknown) => e);
  expect((reset as PostFailure).failure).toEqual({reason: 'network error', sent: true});
  const url = new URL(s.url);
  await s.close();
  const refused = await postBounded(url, '{}', headers, limits).catch((e: unknown) => e);
  expect((refused as PostFailure).failure).toEqual({
    reason: 'network error (no connection)',
    sent: false,
  });
});
