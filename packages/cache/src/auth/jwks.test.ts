// ZERO_AUTH_JWKS_URL against a real key server on 127.0.0.1: rotation, the refetch
// cooldown, and cached keys that keep verifying when the server goes down.
import {createServer} from 'node:http';
import type {Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {JWK} from 'jose';
import {afterEach, expect, test, vi} from 'vitest';
import {createAuthenticator} from './authenticator.ts';
import {
  captureLogger,
  connectBody,
  fakeUpgrade,
  nowS,
  sign,
  testKey,
} from '../../test/test-tokens.ts';
import type {TestKey} from '../../test/test-tokens.ts';

type KeyServer = {url: string; keys: JWK[]; hits: number; server: Server; down: boolean};

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise(r => s.close(r));
});

async function keyServer(keys: JWK[]): Promise<KeyServer> {
  const ks: KeyServer = {url: '', keys, hits: 0, server: createServer(), down: false};
  ks.server.on('request', (_req, res) => {
    ks.hits++;
    if (ks.down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({keys: ks.keys}));
  });
  await new Promise<void>(r => ks.server.listen(0, '127.0.0.1', r));
  servers.push(ks.server);
  ks.url = `http://127.0.0.1:${(ks.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return ks;
}

const token = (k: TestKey, sub = 'alice') =>
  sign(k.privateKey, k.alg, {sub, exp: nowS(60)}, {kid: k.jwk.kid});

/** The JWKS cache's clock: the test moves it; nothing here waits on real time. */
function clock(start = 1_000_000) {
  let t = start;
  return {now: () => t, advance: (ms: number) => void (t += ms)};
}

test('JWKS: rotation fetches the new kid, at most once per cooldown; cached keys survive an outage', async () => {
  const k1 = await testKey('ES256', 'k1');
  const k2 = await testKey('RS256', 'k2');
  const k3 = await testKey('EdDSA', 'k3');
  const ks = await keyServer([k1.jwk]);
  const {logger, lines} = captureLogger();
  const cooldownMs = 1_000;
  const maxAgeMs = 1_500;
  const time = clock();
  const auth = createAuthenticator({authJwksUrl: ks.url}, logger, {
    jwksCooldownMs: cooldownMs,
    jwksMaxAgeMs: maxAgeMs,
    jwksNow: time.now,
  });
  const check = async (t: string, sub = 'alice') => auth(connectBody(sub, t), fakeUpgrade);

  expect((await check(await token(k1))).ok).toBe(true);
  expect((await check(await token(k1))).ok).toBe(true);
  expect(ks.hits).toBe(1);

  // Rotation: k2 appears. Right after a fetch the cooldown holds: no refetch, rejected,
  // up to its last millisecond.
  ks.keys = [k1.jwk, k2.jwk];
  const t2 = await token(k2);
  expect(await check(t2)).toMatchObject({
    ok: false,
    message: expect.stringMatching(/no matching key/),
  });
  expect(ks.hits).toBe(1);
  time.advance(cooldownMs - 1);
  expect((await check(t2)).ok).toBe(false);
  expect(ks.hits).toBe(1);
  time.advance(1);
  expect((await check(t2)).ok).toBe(true);
  expect(ks.hits).toBe(2);

  // A burst of unknown kids costs at most one fetch per cooldown.
  const unknown = await testKey('ES256', 'nope');
  const tu = await token(unknown);
  time.advance(cooldownMs);
  const results = await Promise.all(Array.from({length: 20}, () => check(tu)));
  expect(results.every(r => !r.ok)).toBe(true);
  expect(ks.hits).toBe(3);
  for (let i = 0; i < 10; i++) await check(tu);
  expect(ks.hits).toBe(3);

  // The key server goes down: cached keys keep verifying, even past the max age (the
  // background refresh fails and the old keys stay); a new kid cannot be fetched.
  ks.down = true;
  time.advance(maxAgeMs + 1);
  expect((await check(await token(k1))).ok).toBe(true);
  // That lookup, past the max age, started a background refresh; it fails.
  await vi.waitFor(() => expect(lines.join('\n')).toContain('Could not fetch the JWKS'));
  expect(ks.hits).toBe(4);
  expect((await check(t2)).ok).toBe(true);
  expect(ks.hits).toBe(4);
  ks.keys = [k1.jwk, k2.jwk, k3.jwk];
  time.advance(cooldownMs);
  const t3 = await token(k3);
  expect(await check(t3)).toMatchObject({
    ok: false,
    kind: 'AuthInvalidated',
    message: expect.stringMatching(/no matching key/),
  });
  expect(ks.hits).toBe(5);
  expect((await check(await token(k1))).ok).toBe(true);

  // Back up: the new kid is fetched.
  ks.down = false;
  time.advance(cooldownMs);
  expect((await check(t3)).ok).toBe(true);
  expect(ks.hits).toBe(6);
  // An HS token never verifies against a key set.
  const hs = await sign(new TextEncoder().encode('s'), 'HS256', {sub: 'alice'}, {kid: 'k1'});
  expect(await check(hs)).toMatchObject({ok: false, message: expect.stringMatching(/algorithm/)});
  const all = lines.join('\n');
  for (const t of [t2, t3, tu, hs]) expect(all).not.toContain(t.split('.')[2]);
  expect(all).toContain('Could not fetch the JWKS');
});

test('JWKS: a key server that never answered rejects tokens with a reason; the default cooldown is 5 s', async () => {
  const ks = await keyServer([]);
  ks.down = true;
  const k = await testKey('ES256', 'k1');
  const {logger} = captureLogger();
  const time = clock();
  const auth = createAuthenticator({authJwksUrl: ks.url}, logger, {jwksNow: time.now});
  const r = await auth(connectBody('alice', await token(k)), fakeUpgrade);
  expect(r).toMatchObject({ok: false, kind: 'AuthInvalidated'});
  expect(r.ok ? '' : r.message).toMatch(/key set unavailable/);
  // The default cooldown (5 s) keeps a second token from fetching again until it is over.
  time.advance(4_999);
  await auth(connectBody('alice', await token(k)), fakeUpgrade);
  expect(ks.hits).toBe(1);
  time.advance(1);
  await auth(connectBody('alice', await token(k)), fakeUpgrade);
  expect(ks.hits).toBe(2);
});
