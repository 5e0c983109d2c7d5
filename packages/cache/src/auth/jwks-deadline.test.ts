// A key server that stalls, drips, resets or answers garbage: every JWKS lookup settles by
// the fetch deadline, and once the server recovers the next lookup succeeds.
import {afterEach, expect, test} from 'vitest';
import {createAuthenticator} from './authenticator.ts';
import {
  captureLogger,
  connectBody,
  fakeUpgrade,
  nowS,
  sign,
  testKey,
} from '../../test/test-tokens.ts';
import {misbehavingServer, type Misbehaviour} from '../../test/misbehaving-server.ts';
import type {MisbehavingServer} from '../../test/misbehaving-server.ts';

const TIMEOUT_MS = 300;
/** Generous: a settled lookup takes about TIMEOUT_MS; a stuck one never settles. */
const BOUND_MS = 3_000;

const servers: MisbehavingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup() {
  const k1 = await testKey('ES256', 'k1');
  const k2 = await testKey('ES256', 'k2');
  const ks = await misbehavingServer('/.well-known/jwks.json');
  servers.push(ks);
  let keys = [k1.jwk];
  ks.handler = () => ({status: 200, body: JSON.stringify({keys})});
  const {logger, lines} = captureLogger();
  const auth = createAuthenticator({authJwksUrl: ks.url}, logger, {
    jwksTimeoutMs: TIMEOUT_MS,
    jwksCooldownMs: 0,
  });
  const check = async (k: typeof k1) => {
    const t = await sign(k.privateKey, k.alg, {sub: 'alice', exp: nowS(60)}, {kid: k.jwk.kid});
    const started = performance.now();
    const result = await auth(connectBody('alice', t), fakeUpgrade);
    return {result, ms: performance.now() - started};
  };
  return {ks, k1, k2, check, lines, rotate: () => (keys = [k1.jwk, k2.jwk])};
}

const broken: [Misbehaviour, Partial<MisbehavingServer>][] = [
  ['stall', {}],
  ['headers-then-stall', {}],
  ['drip', {dripMs: 20}],
  ['reset', {}],
  ['garbage', {}],
  ['big', {bigBytes: 600 * 1024}],
];

test.each(broken)(
  'first fetch against a key server that does %s: lookups settle, then recover',
  async (mode, tweak) => {
    const {ks, k1, check} = await setup();
    Object.assign(ks, {mode, ...tweak});
    // Two lookups at once share the one fetch; both must come back by the deadline.
    const [a, b] = await Promise.all([check(k1), check(k1)]);
    for (const r of [a, b]) {
      expect(r.result).toMatchObject({ok: false, message: expect.stringMatching(/unavailable/)});
      expect(r.ms).toBeLessThan(BOUND_MS);
    }
    ks.mode = 'ok';
    const after = await check(k1);
    expect(after.result.ok).toBe(true);
  },
);

test('an endless key set is cut at the size cap, long before the deadline', async () => {
  const ks = await misbehavingServer();
  servers.push(ks);
  ks.mode = 'flood';
  const k1 = await testKey('ES256', 'k1');
  const {logger} = captureLogger();
  const auth = createAuthenticator({authJwksUrl: ks.url}, logger, {jwksTimeoutMs: 60_000});
  const t = await sign(k1.privateKey, k1.alg, {sub: 'alice', exp: nowS(60)}, {kid: 'k1'});
  const started = performance.now();
  expect(await auth(connectBody('alice', t), fakeUpgrade)).toMatchObject({ok: false});
  expect(performance.now() - started).toBeLessThan(BOUND_MS);
});

test('a refetch for a new kid that drips does not block known keys, and recovers', async () => {
  const {ks, k1, k2, check, rotate, lines} = await setup();
  expect((await check(k1)).result.ok).toBe(true);
  Object.assign(ks, {mode: 'drip', dripMs: 20});
  rotate();
  const [unknown, known] = await Promise.all([check(k2), check(k1)]);
  expect(unknown.result).toMatchObject({ok: false, message: expect.stringMatching(/no matching/)});
  expect(unknown.ms).toBeLessThan(BOUND_MS);
  expect(known.result.ok).toBe(true);
  expect(lines.join('\n')).toMatch(/Could not fetch the JWKS.*timeout/);
  ks.mode = 'ok';
  expect((await check(k2)).result.ok).toBe(true);
});
