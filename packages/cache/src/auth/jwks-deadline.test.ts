// A key server that stalls, drips, resets or answers garbage: every JWKS lookup settles,
// for the reason the misbehaviour calls for (the fetch deadline for a server that never
// finishes, the size cap for one that sends too much), and once the server recovers the
// next lookup succeeds. Nothing measures elapsed time: a lookup that never settled would
// fail the test by its timeout, and the logged reason says which limit cut the fetch.
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
  const token = (k: typeof k1) =>
    sign(k.privateKey, k.alg, {sub: 'alice', exp: nowS(60)}, {kid: k.jwk.kid});
  const lookup = (t: string) => auth(connectBody('alice', t), fakeUpgrade);
  const check = async (k: typeof k1) => ({result: await lookup(await token(k))});
  return {ks, k1, k2, token, lookup, check, lines, rotate: () => (keys = [k1.jwk, k2.jwk])};
}

/** Each misbehaviour, and what the failed fetch is logged as. */
const broken: [Misbehaviour, Partial<MisbehavingServer>, string][] = [
  ['stall', {}, 'timeout'],
  ['headers-then-stall', {}, 'timeout'],
  ['drip', {dripMs: 20}, 'timeout'],
  ['reset', {}, 'TypeError'],
  ['garbage', {}, 'SyntaxError'],
  ['big', {bigBytes: 600 * 1024}, 'too-large'],
];

test.each(broken)(
  'first fetch against a key server that does %s: lookups settle, then recover',
  async (mode, tweak, reason) => {
    const {ks, k1, token, lookup, check, lines} = await setup();
    Object.assign(ks, {mode, ...tweak});
    // Two lookups at once share the one fetch; both come back, cut for the right reason.
    // Both tokens are signed first: signing between them let a loaded machine finish the
    // first (failing) fetch before the second lookup began, which then fetched again.
    const [t1, t2] = await Promise.all([token(k1), token(k1)]);
    const [a, b] = await Promise.all([lookup(t1), lookup(t2)]);
    for (const r of [a, b]) {
      expect(r).toMatchObject({ok: false, message: expect.stringMatching(/unavailable/)});
    }
    expect(ks.hits).toBe(1);
    const failures = lines.filter(l => l.includes('Could not fetch the JWKS'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain(`error=${reason}`);
    ks.mode = 'ok';
    const after = await check(k1);
    expect(after.result.ok).toBe(true);
  },
);

test('an endless key set is cut at the size cap, not by the deadline', async () => {
  const ks = await misbehavingServer();
  servers.push(ks);
  ks.mode = 'flood';
  const k1 = await testKey('ES256', 'k1');
  const {logger, lines} = captureLogger();
  // A deadline far past the test's timeout: only the size cap can end this fetch in time.
  const auth = createAuthenticator({authJwksUrl: ks.url}, logger, {jwksTimeoutMs: 600_000});
  const t = await sign(k1.privateKey, k1.alg, {sub: 'alice', exp: nowS(60)}, {kid: 'k1'});
  expect(await auth(connectBody('alice', t), fakeUpgrade)).toMatchObject({ok: false});
  expect(lines.join('\n')).toMatch(/Could not fetch the JWKS.*error=too-large/);
});

test('a refetch for a new kid that drips does not block known keys, and recovers', async () => {
  const {ks, k1, k2, check, rotate, lines} = await setup();
  expect((await check(k1)).result.ok).toBe(true);
  Object.assign(ks, {mode: 'drip', dripMs: 20});
  rotate();
  const [unknown, known] = await Promise.all([check(k2), check(k1)]);
  expect(unknown.result).toMatchObject({ok: false, message: expect.stringMatching(/no matching/)});
  expect(known.result.ok).toBe(true);
  expect(lines.join('\n')).toMatch(/Could not fetch the JWKS.*error=timeout/);
  ks.mode = 'ok';
  expect((await check(k2)).result.ok).toBe(true);
});
