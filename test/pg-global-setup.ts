// Starts one embedded Postgres (wal_level=logical) for the whole test run.
// Each test file creates its own database through `createTestDatabase`.
import type {TestProject} from 'vitest/node';
import {startEmbeddedPostgres} from '../scripts/embedded-postgres.ts';
import {freePort} from './free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const pg = await startEmbeddedPostgres({
    port: await freePort(),
    flags: [
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
  });
  project.provide('pgAdminUrl', pg.url());
  return () => pg.stop();
}
