// Token verification throughput: 1,000 connects each with HS256 (secret) and ES256 (JWK),
// each with its own token (as 1,000 different users would), through the Authenticator.
// Usage: npm run bench -- auth
import {createAuthenticator} from './authenticator.ts';
import type {AuthConfig} from './authenticator.ts';
import {
  captureLogger,
  connectBody,
  fakeUpgrade,
  nowS,
  secretKey,
  sign,
  testKey,
} from '../../test/test-tokens.ts';

const CONNECTS = 1_000;
const RUNS = 5;

async function bench(name: string, config: AuthConfig, tokens: string[]): Promise<void> {
  const auth = createAuthenticator(config, captureLogger().logger);
  const bodies = tokens.map((t, i) => connectBody(`user-${i}`, t));
  // Warm up (key import, JIT).
  for (const b of bodies.slice(0, 50)) await auth(b, fakeUpgrade);
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    for (const b of bodies) {
      const res = await auth(b, fakeUpgrade);
      if (!res.ok) throw new Error(res.message);
    }
    rates.push(CONNECTS / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(RUNS / 2)] ?? 0;
  process.stdout.write(
    `${name.padEnd(8)} ${CONNECTS} verifications x ${RUNS}: median ${median.toFixed(0)}/s` +
      ` (${((1000 / median) * 1000).toFixed(0)} µs each), min ${rates[0]?.toFixed(0)}/s\n`,
  );
}

const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const hs = await Promise.all(
  Array.from({length: CONNECTS}, (_, i) =>
    sign(secretKey(SECRET), 'HS256', {sub: `user-${i}`, exp: nowS(3600)}),
  ),
);
await bench('HS256', {authSecret: SECRET}, hs);

const es = await testKey('ES256');
const esTokens = await Promise.all(
  Array.from({length: CONNECTS}, (_, i) =>
    sign(es.privateKey, 'ES256', {sub: `user-${i}`, exp: nowS(3600)}),
  ),
);
await bench('ES256', {authJwk: es.jwk}, esTokens);

const opaque = Array.from({length: CONNECTS}, (_, i) => `session-${i}`);
await bench('opaque', {}, opaque);
