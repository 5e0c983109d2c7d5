// Starts the hello app's processes around a Postgres URL: the API server and the Vite dev
// server in this process, zero-cache as a child process (its bin). Used by `npm start`
// and by the browser tests.
import react from '@vitejs/plugin-react';
import type {ChildProcess} from 'node:child_process';
import {spawn} from 'node:child_process';
import {join} from 'node:path';
import type {Plugin, ViteDevServer} from 'vite';
import {createServer, defaultClientConditions} from 'vite';
import {SOURCE_CONDITION, sourceBinArgs} from '../../../scripts/source-bin.ts';
import type {ApiServer} from '../server/api.ts';
import {startApiServer} from '../server/api.ts';
import {startApi1xServer} from '../server/api-1x.ts';
import type {AuthMode} from '../server/tokens.ts';

export const APP_DIR = join(import.meta.dirname, '..');
const REPO_ROOT = join(APP_DIR, '..', '..');

/** Which of Zero's APIs the app is written in: 0.24 (the default) or 1.x (`src-1x`). */
export type ApiGeneration = '0.24' | '1x';
export const API_GENERATIONS: readonly ApiGeneration[] = ['0.24', '1x'];

export function parseApiGeneration(value: string | undefined): ApiGeneration {
  const v = value ?? '0.24';
  if (!(API_GENERATIONS as readonly string[]).includes(v)) {
    throw new TypeError(`api must be one of ${API_GENERATIONS.join(', ')}, got "${v}"`);
  }
  return v as ApiGeneration;
}

export type StackOptions = {
  upstreamUrl: string;
  /** Default 0.24. The 1.x form authenticates with the session cookie only. */
  api?: ApiGeneration | undefined;
  mode: AuthMode;
  replicaFile: string;
  appID?: string | undefined;
  authSecret: string;
  sessionSecret: string;
  accessTokenTtlSeconds?: number | undefined;
  cachePort: number;
  apiPort?: number | undefined;
  webPort: number;
  /** Every zero-cache log line (stderr), e.g. for a progress bar. */
  onCacheLine?: ((line: string) => void) | undefined;
  logLevel?: string | undefined;
};

export type Stack = {
  readonly pageUrl: string;
  readonly api: ApiServer;
  readonly cache: ChildProcess;
  readonly vite: ViteDevServer;
  /** Stops everything; waits for zero-cache to exit. Idempotent. */
  stop(): Promise<void>;
};

/** zero-cache's environment for an auth mode (what docs/auth.md lists). */
export function cacheEnv(o: StackOptions, apiUrl: string): Record<string, string> {
  const web = [`http://127.0.0.1:${o.webPort}`, `http://localhost:${o.webPort}`];
  const env: Record<string, string> = {
    ZERO_UPSTREAM_DB: o.upstreamUrl,
    ZERO_REPLICA_FILE: o.replicaFile,
    ZERO_PORT: String(o.cachePort),
    ZERO_HOST: '127.0.0.1',
    ZERO_LOG_LEVEL: o.logLevel ?? 'info',
    ZERO_MUTATE_URL: `${apiUrl}/api/push`,
    ZERO_GET_QUERIES_URL: `${apiUrl}/api/get-queries`,
    ZERO_ALLOWED_ORIGINS: web.join(','),
  };
  if (o.appID !== undefined) env['ZERO_APP_ID'] = o.appID;
  if (o.api === '1x') {
    // Defined queries and mutators only, resolved by the API server for the user of the
    // forwarded session cookie. Raw queries and CRUD writes are refused.
    delete env['ZERO_GET_QUERIES_URL'];
    env['ZERO_QUERY_URL'] = `${apiUrl}/api/query`;
    env['ZERO_MUTATE_URL'] = `${apiUrl}/api/mutate`;
    env['ZERO_QUERY_FORWARD_COOKIES'] = 'true';
    env['ZERO_MUTATE_FORWARD_COOKIES'] = 'true';
    env['ZERO_LEGACY_API'] = 'false';
    return env;
  }
  switch (o.mode) {
    case 'secret':
      env['ZERO_AUTH_SECRET'] = o.authSecret;
      env['ZERO_SCHEMA_PATH'] = join(APP_DIR, 'shared', 'schema.ts');
      break;
    case 'jwks':
      env['ZERO_AUTH_JWKS_URL'] = `${apiUrl}/.well-known/jwks.json`;
      env['ZERO_SCHEMA_PATH'] = join(APP_DIR, 'shared', 'schema.ts');
      break;
    case 'cookie':
      // No token reaches zero-cache, so rules reading claims cannot work: access is decided
      // by the API server (synced queries + custom mutators), which reads the cookie.
      env['ZERO_MUTATE_FORWARD_COOKIES'] = 'true';
      env['ZERO_GET_QUERIES_FORWARD_COOKIES'] = 'true';
      break;
  }
  return env;
}

function baseEnv(): NodeJS.ProcessEnv {
  // Only what a process needs to run, not the caller's ZERO_* settings.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ZERO_') && !k.startsWith('ZYNC_')) env[k] = v;
  }
  return env;
}

export function spawnZeroCache(env: Record<string, string>, onLine: (line: string) => void) {
  const child = spawn(process.execPath, sourceBinArgs('zero-cache'), {
    cwd: REPO_ROOT,
    env: {...baseEnv(), ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        onLine(line);
        if (line.includes('zero-cache ready')) resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', code => reject(new Error(`zero-cache exited with code ${code}`)));
  });
  ready.catch(() => {});
  return {child, ready};
}

/** Sends SIGTERM (then SIGKILL after `graceMs`) to one child and waits for it to exit. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Serves the 1.x page (src-1x) from the same index.html and styles. */
const entry1x: Plugin = {
  name: 'hello-1x-entry',
  transformIndexHtml: html =>
    html.replace('/src/main.tsx', '/src-1x/main.tsx').replace('hello zync', 'hello zync (1.x)'),
};

export async function startVite(
  webPort: number,
  apiUrl: string,
  api: ApiGeneration = '0.24',
): Promise<ViteDevServer> {
  const vite = await createServer({
    configFile: false,
    root: APP_DIR,
    logLevel: 'warn',
    clearScreen: false,
    plugins: api === '1x' ? [react(), entry1x] : [react()],
    server: {
      host: '127.0.0.1',
      port: webPort,
      strictPort: true,
      proxy: {'/api': apiUrl, '/.well-known': apiUrl},
    },
    optimizeDeps: {include: ['react', 'react-dom/client', 'react/jsx-runtime']},
    resolve: {conditions: [SOURCE_CONDITION, ...defaultClientConditions]},
  });
  await vite.listen();
  return vite;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  if (o.api === '1x' && o.mode !== 'cookie') {
    throw new TypeError('the 1.x form of the app authenticates with its session cookie only');
  }
  const api =
    o.api === '1x'
      ? await startApi1xServer({
          upstreamUrl: o.upstreamUrl,
          sessionSecret: o.sessionSecret,
          cachePort: o.cachePort,
          port: o.apiPort,
        })
      : await startApiServer({
          upstreamUrl: o.upstreamUrl,
          mode: o.mode,
          authSecret: o.authSecret,
          sessionSecret: o.sessionSecret,
          accessTokenTtlSeconds: o.accessTokenTtlSeconds,
          cachePort: o.cachePort,
          port: o.apiPort,
        });
  const {child, ready} = spawnZeroCache(cacheEnv(o, api.url), o.onCacheLine ?? (() => {}));
  let vite: ViteDevServer | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.allSettled([stopChild(child), vite?.close(), api.close()]);
    })());
  try {
    vite = await startVite(o.webPort, api.url, o.api);
    await ready;
  } catch (e) {
    await stop();
    throw e;
  }
  return {pageUrl: `http://127.0.0.1:${o.webPort}/`, api, cache: child, vite, stop};
}
