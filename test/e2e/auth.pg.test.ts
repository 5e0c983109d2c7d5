// Auth end to end: real Postgres, a real zero-cache verifying HS256 tokens, real Zero
// clients over ws. Token rejection, refresh, expiry on a live connection, group pinning.
// zero-cache's expiry cuts run on a clock the tests move (tokens are still verified
// against the real time), so no test waits for a token to expire.
import {Zero} from '@zync/client';
import type {SocketLike} from '@zync/client';
import {encodeFrame, PROTOCOL_VERSION, SYNC_PATH} from '@zync/protocol';
import {createSchema, string, table} from '@zync/zql';
import {SignJWT} from 'jose';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import {ManualClock} from '../manual-clock.ts';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const SECRET = 'e2e-auth-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const item = table('item').columns({id: string(), title: string()}).primaryKey('id');
const schema = createSchema({tables: [item]});

let url: string;
let appId: string;
let zc: StartedZeroCache;
let clock: ManualClock;
const zeros: Zero<typeof schema>[] = [];
/** Every token any test made, to check that none reaches a log line. */
const tokens: string[] = [];

beforeAll(async () => {
  url = await createTestDatabase('e2e_auth');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, title TEXT NOT NULL);
                  INSERT INTO item VALUES ('a', 'A');`);
  await db.end();
  // Moved by a minute or two in all: the hour-long tokens of the other tests stay good.
  clock = new ManualClock(Date.now());
  zc = await startZeroCache(url, {
    env: {ZERO_AUTH_SECRET: SECRET},
    logLevel: 'debug',
    hooks: {clock},
  });
  appId = zc.appId;
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
});

async function jwt(sub: string, expInS = 3600, secret = SECRET): Promise<string> {
  const t = await new SignJWT({sub, role: 'member'})
    .setProtectedHeader({alg: 'HS256'})
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInS)
    .sign(new TextEncoder().encode(secret));
  tokens.push(t);
  return t;
}

function client(
  userID: string,
  auth: ConstructorParameters<typeof Zero>[0]['auth'],
  server = zc.url,
  createSocket?: (u: string) => SocketLike,
) {
  const z = new Zero({
    server,
    userID,
    schema,
    kvStore: 'mem',
    auth,
    ...(createSocket ? {createSocket} : {}),
  });
  zeros.push(z);
  return z;
}

function countingSockets(): {make: (u: string) => SocketLike; count: () => number} {
  let n = 0;
  return {
    make: u => {
      n++;
      return new WebSocket(u) as unknown as SocketLike;
    },
    count: () => n,
  };
}

function states(z: Zero<typeof schema>): string[] {
  const seen: string[] = [];
  z.connection.state.subscribe(s => seen.push(s.name));
  return seen;
}

const waitState = (z: Zero<typeof schema>, name: string, timeout = 10_000) =>
  vi.waitFor(() => expect(z.connection.state.current.name).toBe(name), {timeout});

/** zero-cache cuts a live connection this long after its token's `exp`. */
const TOLERANCE_MS = 5_000;

function expOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
    exp: number;
  };
  return payload.exp * 1000;
}

/** Lines zero-cache logged for an accepted token of `userID`. */
const accepted = (userID: string) =>
  zc.logLines.filter(l => l.includes('Token accepted') && l.includes(`userID=${userID}`));

/**
 * Syncs a query through `z` to completion: a round trip on the live socket. An error frame
 * zero-cache sent before it (a cut) would have ended the connection first.
 */
async function syncsOnLiveSocket(z: Zero<typeof schema>): Promise<void> {
  const view = z.query.item.materialize() as unknown as {
    data: unknown[];
    resultType: string;
    destroy(): void;
  };
  await vi.waitFor(() => expect(view.resultType).toBe('complete'), {timeout: 10_000});
  expect(view.data.length).toBe(1);
  view.destroy();
}

test('a valid token connects', async () => {
  const z = client('alice', await jwt('alice'));
  await waitState(z, 'connected');
});

test('a rejected string token: needs-auth with AuthInvalidated, never the token, no new sockets', async () => {
  const bad = await jwt('alice', 3600, 'not-the-server-secret-not-the-server-secret');
  const sockets = countingSockets();
  const z = client('alice', bad, zc.url, sockets.make);
  await waitState(z, 'needs-auth');
  const reason = z.connection.state.current.reason ?? '';
  expect(reason).toContain('AuthInvalidated');
  expect(reason).toContain('signature invalid');
  expect(reason).not.toContain(bad.slice(0, 20));
  // One socket; that the client then opens no other, however long it waits, is checked
  // on a virtual clock in the client's connection tests.
  expect(sockets.count()).toBe(1);
});

test('sub mismatch: a token for alice used as bob is rejected', async () => {
  const z = client('bob', await jwt('alice'));
  await waitState(z, 'needs-auth');
  expect(z.connection.state.current.reason).toMatch(/AuthInvalidated.*sub does not match/);
});

test('an auth function is called with invalid-token and the client reconnects', async () => {
  const calls: (string | undefined)[] = [];
  const z = client('carol', async err => {
    calls.push(err);
    return err === 'invalid-token' ? jwt('carol') : jwt('carol', -120);
  });
  await waitState(z, 'connected');
  expect(calls).toEqual([undefined, 'invalid-token']);
});

test('proactive refresh before exp keeps the connection: no disconnect past the old expiry', async () => {
  const issued: string[] = [];
  // The first token expires in 20 s; the client refreshes 30 s before exp, so at once.
  const z = client('dave', async () => {
    const t = await jwt('dave', issued.length === 0 ? 20 : 3600);
    issued.push(t);
    return t;
  });
  const seen = states(z);
  await waitState(z, 'connected');
  // zero-cache has verified the refreshed token (sent with updateAuth on the live socket).
  await vi.waitFor(() => expect(accepted('dave')).toHaveLength(2), {timeout: 10_000});
  expect(issued).toHaveLength(2);
  // Past the first token's exp plus the tolerance, on zero-cache's clock: no cut.
  clock.advanceTo(expOf(issued[0]!) + TOLERANCE_MS + 1);
  await syncsOnLiveSocket(z);
  expect(z.connection.state.current.name).toBe('connected');
  // One connection all along: a cut would have asked the function again and reconnected.
  expect(issued).toHaveLength(2);
  expect(seen.filter(s => s === 'connected')).toHaveLength(1);
  expect(seen.filter(s => s !== 'connected' && s !== 'connecting')).toEqual([]);
});

test('a live connection is cut off at exp plus the tolerance without a refresh', async () => {
  const token = await jwt('erin', 60);
  const z = client('erin', token);
  await waitState(z, 'connected');
  clock.advanceTo(expOf(token) + TOLERANCE_MS - 1);
  await syncsOnLiveSocket(z);
  expect(z.connection.state.current.name).toBe('connected');
  clock.advance(1);
  await waitState(z, 'needs-auth');
  expect(z.connection.state.current.reason).toMatch(/AuthInvalidated: Token expired/);
});

/** A raw protocol client: the frames a hand-written socket gets. */
async function rawConnect(
  userID: string,
  clientGroupID: string,
  auth: string,
): Promise<[string, {kind?: string; message?: string}][]> {
  const ws = new WebSocket(`ws://127.0.0.1:${zc.port}${SYNC_PATH}`);
  const frames: [string, {kind?: string; message?: string}][] = [];
  ws.on('message', d =>
    frames.push(JSON.parse((d as Buffer).toString('utf8')) as (typeof frames)[number]),
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(
    encodeFrame([
      'connect',
      {
        protocolVersion: PROTOCOL_VERSION,
        clientID: `raw-${userID}-${Date.now()}`,
        clientGroupID,
        userID,
        baseVersion: null,
        lastMutationID: 0,
        auth,
        desiredQueries: [],
      },
    ]),
  );
  await vi.waitFor(() => expect(frames.length).toBeGreaterThan(0), {timeout: 5_000});
  ws.close();
  return frames;
}

test('a client group is pinned to its user: bob into alice’s group is refused, also after a restart', async () => {
  const alice = client('alice', await jwt('alice'));
  await waitState(alice, 'connected');
  const group = await alice.clientGroupID;
  const refused = await rawConnect('bob', group, await jwt('bob'));
  expect(refused[0]?.[0]).toBe('error');
  expect(refused[0]?.[1].kind).toBe('Unauthorized');
  const ok = await rawConnect('alice', group, await jwt('alice'));
  expect(ok[0]?.[0]).toBe('connected');

  // A second zero-cache on the same CVR schema (a restart) keeps the pin.
  const again = await startZeroCache(url, {
    env: {ZERO_AUTH_SECRET: SECRET},
    appId,
    replicaFile: `${zc.replicaFile}.2`,
  });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${again.port}${SYNC_PATH}`);
    const frames: [string, {kind?: string}][] = [];
    ws.on('message', d =>
      frames.push(JSON.parse((d as Buffer).toString('utf8')) as (typeof frames)[number]),
    );
    await new Promise(r => ws.once('open', r));
    ws.send(
      encodeFrame([
        'connect',
        {
          protocolVersion: PROTOCOL_VERSION,
          clientID: 'raw-bob-2',
          clientGroupID: group,
          userID: 'bob',
          baseVersion: null,
          lastMutationID: 0,
          auth: await jwt('bob'),
          desiredQueries: [],
        },
      ]),
    );
    await vi.waitFor(() => expect(frames[0]?.[1].kind).toBe('Unauthorized'), {timeout: 5_000});
    ws.close();
  } finally {
    await again.stop();
  }
});

test('no token text appears in any debug log line', () => {
  expect(zc.logLines.some(l => l.includes('debug') || l.includes('DEBUG'))).toBe(true);
  for (const t of tokens) {
    const [, payload, sig] = t.split('.');
    for (const line of zc.logLines) {
      expect(line).not.toContain(sig);
      expect(line).not.toContain(payload);
    }
  }
  for (const line of zc.logLines) expect(line).not.toContain(SECRET);
});
