// Connects per second through a real zero-cache process: open a WebSocket, send `connect`
// with a JWT, wait for `connected`, close. 1,000 connects for HS256 (ZERO_AUTH_SECRET) and
// for ES256 (ZERO_AUTH_JWK), in waves of 20 concurrent connects. Each connect is a new client
// group, so the figure includes loading its CVR and pinning it to its user in Postgres.
// Run: npm run bench -- connects
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {encodeFrame, PROTOCOL_VERSION, SYNC_PATH} from '@zync/protocol';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import pg from 'pg';
import {WebSocket} from 'ws';
import {startPostgres, startZeroCache, stopAll} from './e2e/harness.ts';

const CONNECTS = Number(process.env['BENCH_CONNECTS'] ?? 1000);
const WAVE = 20;

function connectOnce(url: string, userID: string, token: string, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // zero-cache routes a socket to the worker that owns its group by this parameter.
    const ws = new WebSocket(`${url}?clientGroupID=g${i}`);
    ws.on('open', () =>
      ws.send(
        encodeFrame([
          'connect',
          {
            protocolVersion: PROTOCOL_VERSION,
            clientID: `c${i}`,
            clientGroupID: `g${i}`,
            userID,
            baseVersion: null,
            lastMutationID: 0,
            auth: token,
            desiredQueries: [],
          },
        ]),
      ),
    );
    ws.on('message', (d: Buffer) => {
      const [type] = JSON.parse(d.toString()) as [string];
      if (type === 'connected') {
        ws.close();
        resolve();
      } else if (type === 'error') {
        ws.close();
        reject(new Error(d.toString().slice(0, 200)));
      }
    });
    ws.on('error', reject);
  });
}

async function run(label: string, url: string, tokenFor: (u: string) => Promise<string>) {
  const tokens = await Promise.all(Array.from({length: CONNECTS}, (_, i) => tokenFor(`u${i}`)));
  // warm-up
  await Promise.all(
    Array.from({length: WAVE}, (_, i) => connectOnce(url, `u${i}`, tokens[i]!, 10_000_000 + i)),
  );
  const t0 = performance.now();
  for (let i = 0; i < CONNECTS; i += WAVE) {
    await Promise.all(
      Array.from({length: Math.min(WAVE, CONNECTS - i)}, (_, k) =>
        connectOnce(url, `u${i + k}`, tokens[i + k]!, i + k),
      ),
    );
  }
  const ms = performance.now() - t0;
  console.log(
    `${label.padEnd(28)} ${Math.round((CONNECTS * 1000) / ms)
      .toString()
      .padStart(6)} connects/s  (${CONNECTS} in ${ms.toFixed(0)} ms)`,
  );
}

try {
  const postgres = await startPostgres();
  const db = new pg.Client({connectionString: postgres.url});
  await db.connect();
  await db.query('CREATE TABLE IF NOT EXISTS item (id TEXT PRIMARY KEY)');
  await db.end();
  const dir = mkdtempSync(join(tmpdir(), 'zync-connects-'));

  const secret = 'bench-secret-that-is-long-enough-for-hs256';
  const hs = await startZeroCache({
    upstreamUrl: postgres.url,
    replicaFile: join(dir, 'hs.db'),
    appId: 'bench_hs',
    env: {ZERO_AUTH_SECRET: secret},
  });
  const key = new TextEncoder().encode(secret);
  await run('HS256 via ZERO_AUTH_SECRET', `ws://127.0.0.1:${hs.port}${SYNC_PATH}`, sub =>
    new SignJWT({})
      .setProtectedHeader({alg: 'HS256'})
      .setSubject(sub)
      .setExpirationTime('1h')
      .sign(key),
  );
  await hs.stop();

  const {publicKey, privateKey} = await generateKeyPair('ES256');
  const jwk = {...(await exportJWK(publicKey)), alg: 'ES256'};
  const es = await startZeroCache({
    upstreamUrl: postgres.url,
    replicaFile: join(dir, 'es.db'),
    appId: 'bench_es',
    env: {ZERO_AUTH_JWK: JSON.stringify(jwk)},
  });
  await run('ES256 via ZERO_AUTH_JWK', `ws://127.0.0.1:${es.port}${SYNC_PATH}`, sub =>
    new SignJWT({})
      .setProtectedHeader({alg: 'ES256'})
      .setSubject(sub)
      .setExpirationTime('1h')
      .sign(privateKey),
  );
  await es.stop();
} finally {
  await stopAll();
}
