// Helpers for `*.pg.test.ts` files: a fresh database per call on the shared test cluster.
import pg from 'pg';
import {inject} from 'vitest';

let counter = 0;

/** Creates a new empty database and returns its connection URL. */
export async function createTestDatabase(prefix = 'db'): Promise<string> {
  const admin = inject('pgAdminUrl');
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${Date.now()}_${counter++}`;
  const client = new pg.Client({connectionString: admin});
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
