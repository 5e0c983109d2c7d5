// A client group is bound to the identity that created it (the verified token `sub`, or
// "anonymous"), through a real zero-cache: knowing a group's ID is not enough to join it.
import {encodeFrame, PROTOCOL_VERSION, SYNC_PATH} from '@zync/protocol';
import {SignJWT} from 'jose';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const SECRET = 'e2e-group-identity-secret-0123456789-abcdefghijklmnop';

let zc: StartedZeroCache;
let opaque: StartedZeroCache;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('e2e_group_identity');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, title TEXT NOT NULL)`);
  await db.end();
  zc = await startZeroCache(url, {env: {ZERO_AUTH_SECRET: SECRET}});
  // No key: tokens are opaque to zero-cache.
  opaque = await startZeroCache(url, {replicaFile: `${zc.replicaFile}.opaque`});
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await zc?.stop();
  await opaque?.stop();
});

function jwt(sub: string): Promise<string> {
  return new SignJWT({sub})
    .setProtectedHeader({alg: 'HS256'})
    .setIssuedAt()
    .setJti(`${sub}-${Math.random()}`)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

type Frame = [string, {kind?: string; message?: string}];

/** Opens a socket and sends `connect`; resolves with the frames seen and a send function. */
async function connect(server: StartedZeroCache, group: string, userID: string, auth?: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${SYNC_PATH}`);
  sockets.push(ws);
  const frames: Frame[] = [];
  ws.on('message', d => frames.push(JSON.parse((d as Buffer).toString('utf8')) as Frame));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(
    encodeFrame([
      'connect',
      {
        protocolVersion: PROTOCOL_VERSION,
        clientID: `c-${userID}-${sockets.length}`,
        clientGroupID: group,
        userID,
        baseVersion: null,
        lastMutationID: 0,
        ...(auth !== undefined ? {auth} : {}),
        desiredQueries: [],
      },
    ]),
  );
  await vi.waitFor(() => expect(frames.length).toBeGreaterThan(0), {timeout: 10_000});
  return {frames, first: frames[0]!, ws};
}

const refused = (f: Frame) => f[0] === 'error' && f[1].kind === 'Unauthorized';

test('a group made with a token admits only that sub: not a tokenless or other-sub connection', async () => {
  const group = `g-token-${Date.now()}`;
  const alice = await connect(zc, group, 'alice', await jwt('alice'));
  expect(alice.first[0]).toBe('connected');

  // Without a token, claiming to be alice: today's attack. Refused.
  expect(refused((await connect(zc, group, 'alice')).first)).toBe(true);
  // Another user's valid token.
  expect(refused((await connect(zc, group, 'bob', await jwt('bob'))).first)).toBe(true);
  // Alice again with a fresh token (a new tab, a reconnect after refresh): admitted.
  expect((await connect(zc, group, 'alice', await jwt('alice'))).first[0]).toBe('connected');

  // A live connection refreshing with a new token for the same sub keeps working.
  alice.ws.send(encodeFrame(['updateAuth', {auth: await jwt('alice')}]));
  await vi.waitFor(() => expect(alice.frames.map(f => f[0])).toContain('authUpdated'));

  // The refusals are logged without the group's ID.
  const refusals = zc.logLines.filter(l => /bound to another identity/.test(l));
  expect(refusals.length).toBeGreaterThanOrEqual(2);
  for (const line of zc.logLines) expect(line).not.toContain(group);
});

test('a group made without a token stays anonymous: a token cannot take it over', async () => {
  const group = `g-anon-${Date.now()}`;
  const anon = await connect(zc, group, 'alice');
  expect(anon.first[0]).toBe('connected');
  expect(refused((await connect(zc, group, 'alice', await jwt('alice'))).first)).toBe(true);
  expect((await connect(zc, group, 'alice')).first[0]).toBe('connected');

  // Nor can the anonymous connection turn itself into alice's with updateAuth.
  anon.ws.send(encodeFrame(['updateAuth', {auth: await jwt('alice')}]));
  await vi.waitFor(() => expect(anon.frames.some(refused)).toBe(true));
});

test('with opaque tokens, a group made with a credential refuses a connection with none', async () => {
  const group = `g-opaque-${Date.now()}`;
  expect((await connect(opaque, group, 'alice', 'opaque-token-1')).first[0]).toBe('connected');
  expect(refused((await connect(opaque, group, 'alice')).first)).toBe(true);
  // Opaque tokens cannot be read: a new one for the same declared user is admitted.
  expect((await connect(opaque, group, 'alice', 'opaque-token-2')).first[0]).toBe('connected');
});
