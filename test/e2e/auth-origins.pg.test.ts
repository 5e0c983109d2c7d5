// With cookie forwarding on, only allowed origins may open the sync WebSocket; without
// it, every origin may. Real Postgres, real zero-cache, real Zero clients over ws.
import {Zero} from '@zync/client';
import type {SocketLike} from '@zync/client';
import {createSchema, string, table} from '@zync/zql';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {WebSocket} from 'ws';
import {createTestDatabase} from '../pg.ts';
import {startZeroCache} from './zero-cache.ts';
import type {StartedZeroCache} from './zero-cache.ts';

const item = table('item').columns({id: string(), title: string()}).primaryKey('id');
const schema = createSchema({tables: [item]});

let url: string;
const caches: StartedZeroCache[] = [];
const zeros: Zero<typeof schema>[] = [];

beforeAll(async () => {
  url = await createTestDatabase('e2e_auth_origins');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, title TEXT NOT NULL)`);
  await db.end();
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  for (const c of caches) await c.stop();
});

async function cache(env: Record<string, string>): Promise<StartedZeroCache> {
  const c = await startZeroCache(url, {env});
  caches.push(c);
  return c;
}

function client(server: string, userID: string, origin?: string, auth?: string) {
  const z = new Zero({
    server,
    userID,
    schema,
    kvStore: 'mem',
    ...(auth !== undefined ? {auth} : {}),
    createSocket: u =>
      new WebSocket(u, origin !== undefined ? {origin} : {}) as unknown as SocketLike,
  });
  zeros.push(z);
  return z;
}

const waitState = (z: Zero<typeof schema>, name: string) =>
  vi.waitFor(() => expect(z.connection.state.current.name).toBe(name), {timeout: 10_000});

test('cookie forwarding on: other origins are refused with OriginNotAllowed', async () => {
  const c = await cache({
    ZERO_MUTATE_URL: 'https://api.example.com/push',
    ZERO_MUTATE_FORWARD_COOKIES: 'true',
  });
  const evil = client(c.url, 'u1', 'https://evil.example');
  await waitState(evil, 'error');
  expect(evil.connection.state.current.reason).toContain('OriginNotAllowed');
  await waitState(client(c.url, 'u2', 'https://api.example.com'), 'connected');
  await waitState(client(c.url, 'u3', 'http://localhost:5173'), 'connected');
  // No Origin header: not a browser page, so no ambient cookies to abuse.
  await waitState(client(c.url, 'u4'), 'connected');
  expect(c.logLines.join('\n')).toContain('origin that is not allowed');
});

test('ZERO_ALLOWED_ORIGINS replaces the defaults', async () => {
  const c = await cache({
    ZERO_GET_QUERIES_URL: 'https://api.example.com/q',
    ZERO_GET_QUERIES_FORWARD_COOKIES: 'true',
    ZERO_ALLOWED_ORIGINS: 'https://app.example.com',
  });
  await waitState(client(c.url, 'u1', 'https://app.example.com'), 'connected');
  await waitState(client(c.url, 'u2', 'http://localhost:5173'), 'error');
});

test('cookie forwarding off: every origin may connect', async () => {
  const c = await cache({ZERO_MUTATE_URL: 'https://api.example.com/push'});
  await waitState(client(c.url, 'u1', 'https://evil.example'), 'connected');
});

test('ES256 via ZERO_AUTH_JWK and EdDSA via ZERO_AUTH_JWKS_URL through a real zero-cache', async () => {
  const es = await generateKeyPair('ES256');
  const ed = await generateKeyPair('EdDSA');
  const jwk = await exportJWK(es.publicKey);
  const edJwk = {...(await exportJWK(ed.publicKey)), kid: 'ed-1'};
  const keys = createServer((_req, res) => {
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({keys: [edJwk]}));
  });
  await new Promise<void>(r => keys.listen(0, '127.0.0.1', r));
  try {
    const byJwk = await cache({ZERO_AUTH_JWK: JSON.stringify(jwk)});
    const t1 = await new SignJWT({sub: 'alice'})
      .setProtectedHeader({alg: 'ES256'})
      .setExpirationTime('1h')
      .sign(es.privateKey);
    await waitState(client(byJwk.url, 'alice', undefined, t1), 'connected');
    const t1b = await new SignJWT({sub: 'alice'})
      .setProtectedHeader({alg: 'EdDSA'})
      .sign(ed.privateKey);
    await waitState(client(byJwk.url, 'alice', undefined, t1b), 'needs-auth');

    const port = (keys.address() as AddressInfo).port;
    const byJwks = await cache({ZERO_AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`});
    const t2 = await new SignJWT({sub: 'bob'})
      .setProtectedHeader({alg: 'EdDSA', kid: 'ed-1'})
      .setExpirationTime('1h')
      .sign(ed.privateKey);
    await waitState(client(byJwks.url, 'bob', undefined, t2), 'connected');
  } finally {
    await new Promise(r => keys.close(r));
  }
});
