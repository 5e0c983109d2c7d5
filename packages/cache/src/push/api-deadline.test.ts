// Push and get-queries calls against an API server that stalls, drips or floods: each
// attempt ends by its deadline (or at the size cap), the caller gets its failure, and once
// the server behaves the next call goes through. Nothing measures elapsed time: a call
// that never ended would fail the test by its timeout, and the logged reason says which
// limit ended it.
import {ProtocolError, type Mutation} from '@zync/protocol';
import {afterEach, expect, test} from 'vitest';
import {GetQueriesClient} from '../queries/get-queries-client.ts';
import {misbehavingServer, type Misbehaviour} from '../../test/misbehaving-server.ts';
import type {MisbehavingServer} from '../../test/misbehaving-server.ts';
import {CustomForwarder} from './custom-forwarder.ts';
import {captureLog} from '../../test/push-fixture.ts';

const TIMEOUT_MS = 300;
/** One attempt, no retry: the test is about the attempt's own deadline. */
const NO_RETRY = {initialDelayMs: 10, maxDelayMs: 10, maxElapsedMs: 1};

const servers: MisbehavingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server() {
  const s = await misbehavingServer('/api');
  servers.push(s);
  return s;
}

function endpoint(s: MisbehavingServer, timeoutMs: number, maxResponseBytes?: number) {
  const log = captureLog();
  return {
    log,
    options: {
      url: s.url,
      apiKey: undefined,
      forwardCookies: false,
      appID: 'app',
      shardSchema: 'app_0',
      timeoutMs,
      maxResponseBytes,
      retry: NO_RETRY,
      logger: log.logger,
    },
  };
}

const mutation: Mutation = {
  type: 'custom',
  id: 1,
  clientID: 'c1',
  name: 'issue.create',
  args: [],
  timestamp: 1,
};
const AST = {kind: 'query', table: 'issue'};
const ctx = {
  clientGroupID: 'g1',
  userID: 'u1',
  requestID: 'r1',
  token: () => 'tok',
  cookie: undefined,
};

async function settled<T>(p: Promise<T>): Promise<{value: T | Error}> {
  return {value: await p.catch((e: unknown) => e as Error)};
}

const stuck: [Misbehaviour][] = [['stall'], ['headers-then-stall'], ['drip']];

test.each(stuck)('a push to an API server that does %s fails by the deadline', async mode => {
  const s = await server();
  Object.assign(s, {mode, dripMs: 20});
  const {options, log} = endpoint(s, TIMEOUT_MS);
  const forwarder = new CustomForwarder(options);
  const {value} = await settled(forwarder.forward([mutation], ctx));
  expect(value).toBeInstanceOf(ProtocolError);
  expect((value as ProtocolError).kind).toBe('PushFailed');
  expect(log.lines.join('\n')).toMatch(/giving up.*timeout/);

  s.mode = 'ok';
  s.handler = () => ({
    status: 200,
    body: JSON.stringify({mutations: [{id: {id: 1, clientID: 'c1'}, result: {}}]}),
  });
  expect(await forwarder.forward([mutation], ctx)).toEqual([
    {id: 1, clientID: 'c1', result: {type: 'ok'}},
  ]);
});

test.each(stuck)(
  'a get-queries call to an API server that does %s fails by the deadline',
  async mode => {
    const s = await server();
    Object.assign(s, {mode, dripMs: 20});
    const {options, log} = endpoint(s, TIMEOUT_MS);
    const client = new GetQueriesClient(options);
    const items = [{id: 'q1', name: 'allIssues', args: []}];
    const {value} = await settled(
      client.transform(items, {userID: 'u1', token: 'tok', cookie: undefined}),
    );
    expect(value).toEqual(
      new Map([['q1', expect.objectContaining({ok: false, error: expect.any(Object)})]]),
    );
    expect(log.lines.join('\n')).toMatch(/giving up.*timeout/);

    s.mode = 'ok';
    s.handler = () => ({
      status: 200,
      body: JSON.stringify(['transformed', [{id: 'q1', name: 'allIssues', ast: AST}]]),
    });
    const after = await client.transform(items, {userID: 'u1', token: 'tok', cookie: undefined});
    expect(after.get('q1')).toMatchObject({ok: true, ast: AST});
  },
);

test('an endless answer is cut at the size cap, not by the deadline', async () => {
  const s = await server();
  s.mode = 'flood';
  // A deadline far past the test's timeout: only the size cap can end these calls in time.
  const {options, log} = endpoint(s, 600_000, 1024 * 1024);
  const push = await settled(new CustomForwarder(options).forward([mutation], ctx));
  expect((push.value as ProtocolError).kind).toBe('PushFailed');
  expect(log.lines.join('\n')).toMatch(/response too large/);
  const items = [{id: 'q1', name: 'allIssues', args: []}];
  const client = new GetQueriesClient(options);
  const queries = await settled(
    client.transform(items, {userID: 'u1', token: undefined, cookie: undefined}),
  );
  expect((queries.value as Map<string, {ok: boolean}>).get('q1')?.ok).toBe(false);
  expect(log.lines.filter(l => /response too large/.test(l))).toHaveLength(2);
  expect(log.lines.join('\n')).not.toMatch(/timeout/);
});
