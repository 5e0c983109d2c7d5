// get-queries calls are counted by outcome at their call site, against a real HTTP server
// on 127.0.0.1 answering as an app's API server would.
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {silentLogger} from '@zync/shared';
import {metric, parseMetrics} from '../../../../test/e2e/metrics-text.ts';
import {PromMetrics} from '../metrics/prom-metrics.ts';
import type {QueryContext} from '../view-syncer/group-client.ts';
import {SyncedQueryPreparer} from './synced-query-preparer.ts';

/** What the server answers next: a status, and a body for 200. */
const answers: {status: number; body?: unknown}[] = [];
let url: string;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const a = answers.shift() ?? {status: 500};
    res.writeHead(a.status, {'content-type': 'application/json'}).end(JSON.stringify(a.body ?? {}));
  });
});
beforeAll(async () => {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/get-queries`;
});
afterAll(() => new Promise<void>(r => server.close(() => r())));

const ctx = (token: string): QueryContext => ({
  clientID: 'c',
  clientGroupID: 'g',
  userID: 'u',
  authData: {},
  token,
  cookie: undefined,
});

test('each get-queries call is counted once, by outcome, and timed', async () => {
  const metrics = new PromMetrics({processMetrics: false});
  const preparer = new SyncedQueryPreparer({
    url,
    apiKey: undefined,
    forwardCookies: false,
    appID: 'app',
    revalidateMs: 60_000,
    retry: {initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 20},
    logger: silentLogger,
    metrics,
  });
  const ask = (hash: string, token: string) =>
    preparer.prepare({hash, name: 'q', args: [hash]}, {...ctx(token), refuseAuth: () => {}});

  answers.push({
    status: 200,
    body: ['transformed', [{id: 'h1', name: 'q', ast: {kind: 'query', table: 'item'}}]],
  });
  expect(await ask('h1', 't1')).toMatchObject({ok: true});
  answers.push({
    status: 200,
    body: ['transformed', [{error: 'app', id: 'h2', details: 'unknown query name'}]],
  });
  expect(await ask('h2', 't1')).toMatchObject({ok: false});
  answers.push({status: 401});
  expect(await ask('h3', 't2')).toMatchObject({ok: false, error: {kind: 'refused'}});
  // 5xx until the retries give up.
  expect(await ask('h4', 't3')).toMatchObject({ok: false, error: {kind: 'transform-failed'}});

  const s = parseMetrics(await metrics.registry.metrics());
  const calls = (outcome: string) =>
    metric(s, 'zero_cache_api_requests_total', {endpoint: 'get_queries', outcome});
  expect([calls('ok'), calls('app_error'), calls('auth_refused'), calls('failed')]).toEqual([
    1, 1, 1, 1,
  ]);
  expect(
    metric(s, 'zero_cache_api_request_seconds_count', {endpoint: 'get_queries', outcome: 'ok'}),
  ).toBe(1);
  expect(preparer.requests).toBe(4);
});
