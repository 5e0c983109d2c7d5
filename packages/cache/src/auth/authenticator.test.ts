import {generateKeyPairSync} from 'node:crypto';
import {SignJWT} from 'jose';
import {expect, test} from 'vitest';
import type {AuthResult} from '../server/hooks.ts';
import {createAuthenticator} from './authenticator.ts';
import {ConfigError} from '../config/config-error.ts';
import {
  captureLogger,
  connectBody,
  fakeUpgrade,
  nowS,
  secretKey,
  sign,
  testKey,
  unsignedToken,
} from '../../test/test-tokens.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs512-0123456789abcdef';

function ok(r: AuthResult): Extract<AuthResult, {ok: true}> {
  if (!r.ok) throw new Error(`expected ok, got ${r.message}`);
  return r;
}

test.each(['HS256', 'HS384', 'HS512'])('%s verifies with ZERO_AUTH_SECRET', async alg => {
  const {logger, lines} = captureLogger();
  const auth = createAuthenticator({authSecret: SECRET}, logger);
  const exp = nowS(60);
  const token = await sign(secretKey(SECRET), alg, {sub: 'alice', role: 'admin', exp});
  const r = ok(await auth(connectBody('alice', token), fakeUpgrade));
  expect(r.authData).toMatchObject({sub: 'alice', role: 'admin'});
  expect(r.tokenExpiresAt).toBe(exp * 1000);
  expect(lines.join('\n')).not.toContain(token);
  expect(lines.join('\n')).not.toContain(SECRET);
});

test.each([
  ['RS256', 'RS256'],
  ['RS512', 'RS512'],
  ['PS256', 'PS256'],
  ['ES256', 'ES256'],
  ['ES384', 'ES384'],
  ['EdDSA', 'EdDSA'],
])('%s verifies with ZERO_AUTH_JWK', async (_name, alg) => {
  const k = await testKey(alg);
  const {logger} = captureLogger();
  const auth = createAuthenticator({authJwk: k.jwk}, logger);
  const token = await sign(k.privateKey, alg, {sub: 'alice', exp: nowS(60)});
  expect(ok(await auth(connectBody('alice', token), fakeUpgrade)).authData.sub).toBe('alice');
});

test('an RSA JWK accepts both RS and PS tokens; a JWK alg narrows the list', async () => {
  // One RSA key pair (a node KeyObject, usable for both padding schemes).
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
  const jwk = publicKey.export({format: 'jwk'}) as Record<string, unknown>;
  const {logger} = captureLogger();
  const both = createAuthenticator({authJwk: jwk}, logger);
  const rs = await new SignJWT({sub: 'u'}).setProtectedHeader({alg: 'RS256'}).sign(privateKey);
  const ps = await new SignJWT({sub: 'u'}).setProtectedHeader({alg: 'PS384'}).sign(privateKey);
  ok(await both(connectBody('u', rs), fakeUpgrade));
  ok(await both(connectBody('u', ps), fakeUpgrade));
  const narrowed = createAuthenticator({authJwk: {...jwk, alg: 'RS256'}}, logger);
  ok(await narrowed(connectBody('u', rs), fakeUpgrade));
  const r = await narrowed(connectBody('u', ps), fakeUpgrade);
  expect(r).toMatchObject({ok: false, kind: 'AuthInvalidated'});
  expect(r.ok ? '' : r.message).toContain('algorithm not allowed');
});

test('bad JWK settings fail at start with a clear message', async () => {
  const {logger} = captureLogger();
  const k = await testKey('ES256');
  const {privateKey} = await testKey('ES256');
  const {exportJWK} = await import('jose');
  const priv = await exportJWK(privateKey);
  expect(() => createAuthenticator({authJwk: priv}, logger)).toThrow(/public key only/);
  expect(() => createAuthenticator({authJwk: {kty: 'oct', k: 'abc'}}, logger)).toThrow(
    /ZERO_AUTH_SECRET/,
  );
  expect(() =>
    createAuthenticator({authJwk: {...(k.jwk as Record<string, unknown>), alg: 'RS256'}}, logger),
  ).toThrow(ConfigError);
  expect(() => createAuthenticator({authSecret: 'x', authJwksUrl: 'http://x/'}, logger)).toThrow(
    ConfigError,
  );
});

test('no key: tokens are opaque and never decoded; no token is anonymous', async () => {
  const {logger, lines} = captureLogger();
  const auth = createAuthenticator({}, logger);
  const jwt = await sign(secretKey(SECRET), 'HS256', {sub: 'mallory', role: 'admin'});
  for (const token of ['opaque-session-id-123', jwt]) {
    const r = ok(await auth(connectBody('alice', token), fakeUpgrade));
    expect(r.authData).toEqual({});
    expect(r.tokenExpiresAt).toBeNull();
  }
  expect(ok(await auth(connectBody('alice'), fakeUpgrade)).authData).toEqual({});
  expect(lines.join('\n')).not.toContain('opaque-session-id-123');
});

test('with a key, a connection without a token is anonymous', async () => {
  const {logger} = captureLogger();
  const auth = createAuthenticator({authSecret: SECRET}, logger);
  const r = ok(await auth(connectBody('anon'), fakeUpgrade));
  expect(r.authData).toEqual({});
  expect(r.tokenExpiresAt).toBeNull();
});

test('iss and aud are checked when configured', async () => {
  const {logger} = captureLogger();
  const auth = createAuthenticator(
    {authSecret: SECRET, authIssuer: 'https://auth.example', authAudience: 'zync'},
    logger,
  );
  const good = await sign(secretKey(SECRET), 'HS256', {
    sub: 'u',
    iss: 'https://auth.example',
    aud: 'zync',
  });
  ok(await auth(connectBody('u', good), fakeUpgrade));
});

test('a small clock skew is tolerated', async () => {
  const {logger} = captureLogger();
  const auth = createAuthenticator({authSecret: SECRET}, logger);
  const t = await sign(secretKey(SECRET), 'HS256', {
    sub: 'u',
    exp: nowS(-2),
    nbf: nowS(2),
    iat: nowS(2),
  });
  ok(await auth(connectBody('u', t), fakeUpgrade));
});

test('bad tokens are rejected with AuthInvalidated and a reason, never the token', async () => {
  const es = await testKey('ES256');
  const other = await testKey('ES256');
  const rsa = await testKey('RS256');
  const hs = secretKey(SECRET);
  const {logger, lines} = captureLogger();
  const bySecret = createAuthenticator(
    {authSecret: SECRET, authIssuer: 'https://auth.example', authAudience: 'zync'},
    logger,
  );
  const byJwk = createAuthenticator({authJwk: es.jwk}, logger);
  const byRsa = createAuthenticator({authJwk: rsa.jwk}, logger);
  const base = {iss: 'https://auth.example', aud: 'zync'};
  // RSA public key bytes used as an HMAC secret: the classic confusion attack.
  const rsaAsSecret = new TextEncoder().encode(JSON.stringify(rsa.jwk));
  const bigHeader = {kid: 'k'.repeat(4096)};
  const cases: [string, typeof bySecret, string, string, RegExp][] = [
    [
      'wrong secret',
      bySecret,
      'alice',
      await sign(secretKey('another-secret-another-secret-another-secret'), 'HS256', {
        ...base,
        sub: 'alice',
      }),
      /signature invalid/,
    ],
    [
      'wrong key pair',
      byJwk,
      'alice',
      await sign(other.privateKey, 'ES256', {sub: 'alice'}),
      /signature invalid/,
    ],
    [
      'expired',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, sub: 'alice', exp: nowS(-60)}),
      /token expired/,
    ],
    [
      'nbf in the future',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, sub: 'alice', nbf: nowS(120)}),
      /not yet valid/,
    ],
    [
      'iat an hour in the future',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, sub: 'alice', iat: nowS(3600)}),
      /issued in the future \(iat\)/,
    ],
    [
      'iat just past the skew',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, sub: 'alice', iat: nowS(7)}),
      /issued in the future \(iat\)/,
    ],
    [
      'sub mismatch',
      bySecret,
      'bob',
      await sign(hs, 'HS256', {...base, sub: 'alice'}),
      /sub does not match/,
    ],
    ['missing sub', bySecret, 'alice', await sign(hs, 'HS256', {...base}), /no sub/],
    ['alg none', bySecret, 'alice', unsignedToken({...base, sub: 'alice'}), /algorithm/],
    ['alg none vs jwk', byJwk, 'alice', unsignedToken({sub: 'alice'}), /algorithm/],
    [
      'HS token against a public key',
      byRsa,
      'alice',
      await sign(rsaAsSecret, 'HS256', {sub: 'alice'}),
      /algorithm not allowed/,
    ],
    [
      'wrong iss',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, iss: 'https://evil.example', sub: 'alice'}),
      /wrong issuer/,
    ],
    [
      'wrong aud',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, aud: 'other', sub: 'alice'}),
      /wrong audience/,
    ],
    [
      'truncated',
      bySecret,
      'alice',
      (await sign(hs, 'HS256', {...base, sub: 'alice'})).slice(0, -10),
      /signature invalid|malformed/,
    ],
    [
      'truncated to two parts',
      bySecret,
      'alice',
      (await sign(hs, 'HS256', {...base, sub: 'alice'})).split('.').slice(0, 2).join('.'),
      /malformed/,
    ],
    [
      'header too large',
      bySecret,
      'alice',
      await sign(hs, 'HS256', {...base, sub: 'alice'}, bigHeader),
      /header too large/,
    ],
    ['token too large', bySecret, 'alice', 'x'.repeat(40_000), /token too large/],
    ['non-JWT text', bySecret, 'alice', 'hunter2-not-a-jwt-at-all', /malformed/],
    ['garbage segments', byJwk, 'alice', 'eyJhbGciOiJFUzI1NiJ9.%%%.&&&', /malformed|signature/],
  ];
  expect(cases.length).toBeGreaterThanOrEqual(12);
  for (const [name, auth, userID, token, reason] of cases) {
    const r = await auth(connectBody(userID, token), fakeUpgrade);
    expect(r.ok, name).toBe(false);
    if (r.ok) continue;
    expect(r.kind, name).toBe('AuthInvalidated');
    expect(r.message, name).toMatch(reason);
    expect(r.message, name).not.toContain(token.slice(0, 20));
    for (const line of lines) {
      expect(line, name).not.toContain(token.slice(-16));
      expect(line, name).not.toContain(token.slice(0, 24));
    }
  }
  expect(lines.join('\n')).not.toContain(SECRET);
});
