// `npm start`: the hello app, in one command.
//   - Postgres: embedded, kept under .data/pg and reused (or yours: ZERO_UPSTREAM_DB=...);
//     as root, see embedded-postgres.ts for where it runs from
//   - seeds the app's tables on first run
//   - zero-cache (child process), the API server and the Vite dev server
//   - prints the one URL to open; Ctrl-C stops everything.
// Options: --api=1x (or ZYNC_API=1x: the app written in Zero 1.x's API, cookie auth),
// --auth=secret|jwks|cookie (or ZYNC_AUTH), ZYNC_DATA_DIR (default .data),
// ZYNC_PG_PORT, ZYNC_WEB_PORT, ZYNC_API_PORT, ZERO_PORT, ZYNC_SEED_ISSUES (bulk rows).
import {randomBytes} from 'node:crypto';
import {createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import pg from 'pg';
import {countRows, seedDatabase} from '../examples/hello/dev/seed.ts';
import type {Stack} from '../examples/hello/dev/stack.ts';
import {parseApiGeneration, startStack} from '../examples/hello/dev/stack.ts';
import {parseAuthMode} from '../examples/hello/server/tokens.ts';
import type {EmbeddedPostgres} from './embedded-postgres.ts';
import {startEmbeddedPostgres} from './embedded-postgres.ts';

const root = join(import.meta.dirname, '..');
const env = process.env;
const arg = (name: string) =>
  process.argv.find(a => a.startsWith(`--${name}=`))?.slice(`--${name}=`.length);
const api = parseApiGeneration(arg('api') ?? env['ZYNC_API']);
// The 1.x form authenticates with its session cookie only.
const mode = parseAuthMode(
  arg('auth') ?? env['ZYNC_AUTH'] ?? (api === '1x' ? 'cookie' : undefined),
);
if (api === '1x' && mode !== 'cookie') {
  console.error('npm start: --api=1x uses cookie auth; leave out --auth or pass --auth=cookie');
  process.exit(2);
}
const dataDir = resolve(root, env['ZYNC_DATA_DIR'] ?? '.data');
const int = (name: string, dflt: number) => Number(env[name] ?? dflt);
const pgPort = int('ZYNC_PG_PORT', 54329);
const webPort = int('ZYNC_WEB_PORT', 5173);
const apiPort = int('ZYNC_API_PORT', 4849);
const cachePort = int('ZERO_PORT', 4848);

mkdirSync(dataDir, {recursive: true});

let embedded: EmbeddedPostgres | undefined;
let stack: Stack | undefined;
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping…\n');
  await stack?.stop();
  await embedded?.stop().catch(() => {});
  process.stdout.write('stopped\n');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function embeddedPostgres(): Promise<string> {
  const pgDir = join(dataDir, 'pg');
  embedded = await startEmbeddedPostgres({
    dataDir: pgDir,
    port: pgPort,
    flags: ['-c', 'wal_level=logical', '-c', 'listen_addresses=127.0.0.1'],
    onNotice: line => console.log(line),
  });
  console.log(
    `${embedded.created ? 'created' : 'reusing'} the embedded Postgres in ${embedded.dataDir}`,
  );
  const client = new pg.Client({connectionString: embedded.url()});
  await client.connect();
  const {rowCount} = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'hello'`);
  if (rowCount === 0) await client.query('CREATE DATABASE hello');
  await client.end();
  return embedded.url('hello');
}

/** Keys kept under the data dir so that sessions survive a restart. Never printed. */
function secrets(): {authSecret: string; sessionSecret: string} {
  const file = join(dataDir, 'hello-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as never;
  const s = {
    authSecret: randomBytes(32).toString('base64url'),
    sessionSecret: randomBytes(32).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(s), {mode: 0o600});
  return s;
}

/** Draws the first replication's progress from zero-cache's copy log lines. */
function progressBar(total: number) {
  const perTable = new Map<string, number>();
  let last = '';
  const tty = process.stdout.isTTY;
  return {
    line(line: string) {
      const m = /(initial copy progress|copied table) .*table=(\S+) rows=(\d+)/.exec(line);
      if (!m) return;
      perTable.set(m[2]!, Number(m[3]));
      const done = [...perTable.values()].reduce((a, b) => a + b, 0);
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(frac * width);
      const text = `first replication [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round(frac * 100)}% ${done}/${total} rows`;
      if (text === last) return;
      last = text;
      if (tty) process.stdout.write(`\r${text}`);
      else if (m[1] === 'copied table') console.log(text);
    },
    end() {
      if (tty && last !== '') process.stdout.write('\n');
    },
  };
}

try {
  const ownDb = env['ZERO_UPSTREAM_DB'];
  const upstreamUrl = ownDb ?? (await embeddedPostgres());
  console.log(ownDb ? 'using ZERO_UPSTREAM_DB' : `Postgres (embedded) on 127.0.0.1:${pgPort}`);
  const extraIssues = Number(env['ZYNC_SEED_ISSUES'] ?? 0);
  if (await seedDatabase(upstreamUrl, {extraIssues})) console.log('seeded users and issues');

  const replicaFile = join(dataDir, 'hello-replica.db');
  const firstReplication = !existsSync(replicaFile);
  const bar = firstReplication ? progressBar(await countRows(upstreamUrl)) : undefined;
  const logFile = join(dataDir, 'zero-cache.log');
  const log = createWriteStream(logFile, {flags: 'a'});
  console.log(`starting zero-cache (api: ${api}; auth: ${mode}; log: ${logFile})`);
  stack = await startStack({
    upstreamUrl,
    api,
    mode,
    replicaFile,
    ...secrets(),
    cachePort,
    apiPort,
    webPort,
    onCacheLine: line => {
      log.write(`${line}\n`);
      bar?.line(line);
      if (/^\S+ (WARN|ERROR)/.test(line)) console.error(line);
    },
  });
  bar?.end();
  stack.cache.once('exit', code => {
    if (!stopping) {
      console.error(`zero-cache exited (code ${code}); see ${logFile}`);
      void stop(1);
    }
  });
  console.log(`\nready: open ${stack.pageUrl}\n(Ctrl-C stops everything)`);
} catch (e) {
  console.error(`npm start failed: ${e instanceof Error ? e.message : String(e)}`);
  await stop(1);
}
