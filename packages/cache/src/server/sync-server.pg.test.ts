import {afterAll, beforeAll, describe, expect, test, vi} from 'vitest';
import {PROTOCOL_VERSION} from '@zync/protocol';
import {ManualClock} from '../../../../test/manual-clock.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {TestClient} from '../../test/sync/test-client.ts';

let t: TestServer;
let replica: MemoryReplica;

beforeAll(async () => {
  replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: [{id: 1, title: 'a'}]}});
  t = await startTestServer({
    dbUrl: await createTestDatabase('sync_server'),
    replica,
    limits: {connectTimeoutMs: 300, maxFrameBytes: 4096},
  });
});

afterAll(async () => {
  await t.stop();
});

async function expectError(c: TestClient, kind: string) {
  const [, body] = await c.next('error');
  expect(body.kind).toBe(kind);
  const closed = await c.closed;
  expect(closed.code).toBeGreaterThanOrEqual(1000);
  return body;
}

async function expectServing() {
  const c = await TestClient.open(t.port);
  c.connect({clientID: `ok${Math.random()}`, clientGroupID: `g${Math.random()}`});
  await c.next('connected');
  c.send(['ping', {}]);
  await c.next('pong');
  await c.close();
}

test('health endpoints answer OK', async () => {
  for (const path of ['/', '/keepalive']) {
    const res = await fetch(`http://127.0.0.1:${t.port}${path}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('OK');
  }
  expect((await fetch(`http://127.0.0.1:${t.port}/nope`)).status).toBe(404);
});

test('a WebSocket on another path is refused', async () => {
  await expect(TestClient.open(t.port, '/other')).rejects.toThrow();
});

describe('bad frames get an error frame and a close; the server keeps serving', () => {
  test('malformed JSON', async () => {
    const c = await TestClient.open(t.port);
    c.send('{not json');
    await expectError(c, 'InvalidMessage');
    await expectServing();
  });

  test('unknown frame type after connect', async () => {
    const c = await TestClient.open(t.port);
    c.connect({clientID: 'c1', clientGroupID: 'g-unknown'});
    await c.next('connected');
    c.send('["bogus", {}]');
    const body = await expectError(c, 'InvalidMessage');
    expect(body.message).toContain('Unknown frame type');
    await expectServing();
  });

  test('invalid body (no row data echoed)', async () => {
    const c = await TestClient.open(t.port);
    c.connect({clientID: 'c1', clientGroupID: 'g-invalid'});
    await c.next('connected');
    c.send(JSON.stringify(['changeDesiredQueries', {patch: [{op: 'put', hash: 42}]}]));
    const body = await expectError(c, 'InvalidMessage');
    expect(body.message).not.toContain('42');
    await expectServing();
  });

  test('oversized frame', async () => {
    const c = await TestClient.open(t.port);
    c.send(JSON.stringify(['ping', {pad: 'x'.repeat(5000)}]));
    await expectError(c, 'MessageTooLarge');
    await expectServing();
  });

  test('first frame other than connect', async () => {
    const c = await TestClient.open(t.port);
    c.send(['ping', {}]);
    await expectError(c, 'InvalidConnectionRequest');
  });

  test('connect timeout', async () => {
    const c = await TestClient.open(t.port);
    await expectError(c, 'InvalidConnectionRequest');
    await expectServing();
  });

  test('wrong protocol version', async () => {
    const c = await TestClient.open(t.port);
    c.connect({clientID: 'c1', clientGroupID: 'g-ver', protocolVersion: PROTOCOL_VERSION + 1});
    await expectError(c, 'VersionNotSupported');
    await expectServing();
  });

  test('a client of another protocol version, on its own sync path', async () => {
    // The client puts its version in the path; an old one must learn it needs an update
    // (a final error) instead of getting a 404 it would retry forever.
    const c = await TestClient.open(t.port, `/sync/v${PROTOCOL_VERSION - 1}/connect`);
    const body = await expectError(c, 'VersionNotSupported');
    expect(body.message).toContain(`this server speaks ${PROTOCOL_VERSION}`);
    await expectServing();
  });

  test('binary frame', async () => {
    const c = await TestClient.open(t.port);
    c.ws.send(Buffer.from([1, 2, 3]), {binary: true});
    await expectError(c, 'InvalidMessage');
  });

  test('second connect', async () => {
    const c = await TestClient.open(t.port);
    c.connect({clientID: 'c1', clientGroupID: 'g-twice'});
    await c.next('connected');
    c.connect({clientID: 'c1', clientGroupID: 'g-twice'});
    await expectError(c, 'InvalidMessage');
  });
});

test('ping gets pong; push gets a per-mutation error by default', async () => {
  const c = await TestClient.open(t.port);
  c.connect({clientID: 'c1', clientGroupID: 'g-push'});
  const [, connected] = await c.next('connected');
  expect(connected.tokenExpiresAt).toBeNull();
  c.send(['ping', {}]);
  await c.next('pong');
  c.send([
    'push',
    {
      clientGroupID: 'g-push',
      requestID: 'r1',
      mutations: [
        {type: 'custom', id: 1, clientID: 'c1', name: 'a.b', args: [], timestamp: 1},
        {type: 'custom', id: 2, clientID: 'c1', name: 'a.b', args: [], timestamp: 2},
      ],
    },
  ]);
  const [, res] = await c.next('pushResponse');
  expect(res.mutations).toEqual([
    {
      clientID: 'c1',
      id: 1,
      result: {type: 'error', error: 'zero', message: 'Mutations are not supported yet'},
    },
    {
      clientID: 'c1',
      id: 2,
      result: {type: 'error', error: 'zero', message: 'Mutations are not supported yet'},
    },
  ]);
  await c.close();
});

test('pushes that arrive while one is processed are merged into one, in order', async () => {
  const seen: number[][] = [];
  let release!: () => void;
  const first = new Promise<void>(r => (release = r));
  const s = await startTestServer({
    dbUrl: await createTestDatabase('sync_server_merge'),
    replica,
    extra: {
      pusher: {
        push: async body => {
          seen.push(body.mutations.map(m => m.id));
          if (seen.length === 1) await first;
          return {
            mutations: body.mutations.map(m => ({
              clientID: m.clientID,
              id: m.id,
              result: {type: 'ok' as const},
            })),
          };
        },
      },
    },
  });
  try {
    const c = await TestClient.open(s.port);
    c.connect({clientID: 'c1', clientGroupID: 'g-merge'});
    await c.next('connected');
    const push = (id: number) =>
      c.send([
        'push',
        {
          clientGroupID: 'g-merge',
          requestID: `r${id}`,
          mutations: [
            {type: 'crud', id, clientID: 'c1', name: '_zero_crud', args: [], timestamp: id},
          ],
        },
      ]);
    push(1);
    await vi.waitFor(() => expect(seen).toEqual([[1]]));
    push(2);
    push(3);
    push(4);
    // Frames of a socket are handled in order: once the ping is answered, pushes 2–4 wait.
    c.send(['ping', {}]);
    await c.next('pong');
    expect(seen).toEqual([[1]]);
    release();
    const [, r1] = await c.next('pushResponse');
    const [, r2] = await c.next('pushResponse');
    expect(r1.mutations.map(m => m.id)).toEqual([1]);
    expect(r2.mutations.map(m => m.id)).toEqual([2, 3, 4]);
    expect(seen).toEqual([[1], [2, 3, 4]]);
    await c.close();
  } finally {
    await s.stop();
  }
});

test('a rejected token gets the authenticator’s error kind and a close', async () => {
  // A token past its expiry is cut off at once, so the fake expiry lies in the future.
  const exp = Date.now() + 3_600_000;
  const a = await startTestServer({
    dbUrl: await createTestDatabase('sync_auth'),
    replica,
    extra: {
      authenticate: body =>
        Promise.resolve(
          body.auth === 'good'
            ? {ok: true, authData: {sub: body.userID}, tokenExpiresAt: exp}
            : {ok: false, kind: 'AuthInvalidated', message: 'Token rejected'},
        ),
    },
  });
  try {
    const bad = await TestClient.open(a.port);
    bad.connect({clientID: 'c1', clientGroupID: 'g1', auth: 'bad'});
    const body = await expectError(bad, 'AuthInvalidated');
    expect(body.message).not.toContain('bad');
    expect(bad.frames.some(f => f[0] === 'connected')).toBe(false);

    const good = await TestClient.open(a.port);
    good.connect({clientID: 'c1', clientGroupID: 'g1', auth: 'good'});
    const [, connected] = await good.next('connected');
    expect(connected.tokenExpiresAt).toBe(exp);
    good.send(['updateAuth', {auth: 'good'}]);
    expect((await good.next('authUpdated'))[1].tokenExpiresAt).toBe(exp);
    good.send(['updateAuth', {auth: 'worse'}]);
    await expectError(good, 'AuthInvalidated');
  } finally {
    await a.stop();
  }
});

test('a live connection is cut at its token’s exp plus the grace, unless updateAuth moved it', async () => {
  // Tokens are "exp:<ms>"; the connections' expiry timers run on a clock the test moves.
  const clock = new ManualClock(1_000_000);
  const GRACE_MS = 5_000;
  const a = await startTestServer({
    dbUrl: await createTestDatabase('sync_expiry'),
    replica,
    extra: {
      clock,
      authenticate: body => {
        const exp = /^exp:(\d+)$/.exec(body.auth ?? '')?.[1];
        return Promise.resolve(
          exp === undefined
            ? {ok: false, kind: 'AuthInvalidated', message: 'Token rejected'}
            : {ok: true, authData: {sub: body.userID}, tokenExpiresAt: Number(exp)},
        );
      },
    },
  });
  /** A ping answered proves no error frame went out before it (frames keep their order). */
  const stillOpen = async (c: TestClient) => {
    c.send(['ping', {}]);
    await c.next('pong');
    expect(c.frames.some(f => f[0] === 'error')).toBe(false);
  };
  try {
    const c = await TestClient.open(a.port);
    const exp1 = 1_060_000;
    c.connect({clientID: 'c1', clientGroupID: 'g-exp', auth: `exp:${exp1}`});
    expect((await c.next('connected'))[1].tokenExpiresAt).toBe(exp1);
    clock.advanceTo(exp1 + GRACE_MS - 1);
    await stillOpen(c);

    // A refreshed token moves the cut: the old one's moment passes without a cut.
    const exp2 = 1_120_000;
    c.send(['updateAuth', {auth: `exp:${exp2}`}]);
    expect((await c.next('authUpdated'))[1].tokenExpiresAt).toBe(exp2);
    clock.advanceTo(exp1 + GRACE_MS + 1);
    await stillOpen(c);
    clock.advanceTo(exp2 + GRACE_MS - 1);
    await stillOpen(c);
    clock.advance(1);
    const body = await expectError(c, 'AuthInvalidated');
    expect(body.message).toBe('Token expired');
    expect(clock.pending).toBe(0);

    // An expiry past setTimeout's longest delay (about 24.8 days) is re-armed in steps.
    const far = await TestClient.open(a.port);
    const exp3 = clock.now() + 40 * 24 * 3_600_000;
    far.connect({clientID: 'c2', clientGroupID: 'g-exp-far', auth: `exp:${exp3}`});
    await far.next('connected');
    clock.advanceTo(exp3 + GRACE_MS - 1);
    await stillOpen(far);
    clock.advance(1);
    expect((await expectError(far, 'AuthInvalidated')).message).toBe('Token expired');
  } finally {
    await a.stop();
  }
});
