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

const FLAGS = [
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
];

/** Postgres could not bind the port it was given: another process took it meanwhile. */
const PORT_TAKEN = /could not bind|already in use/i;

export default async function setup(project: TestProject) {
  // The port is free when picked, but another process may bind it before Postgres does:
  // then Postgres exits during start-up saying so, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      const pg = await startEmbeddedPostgres({port: await freePort(), flags: FLAGS});
      project.provide('pgAdminUrl', pg.url());
      return () => pg.stop();
    } catch (e) {
      if (attempt >= 5 || !(e instanceof Error) || !PORT_TAKEN.test(e.message)) throw e;
    }
  }
}
