import pg from 'pg';
import {expect, test} from 'vitest';
import {createTestDatabase} from './pg.ts';

test('the shared test cluster runs with wal_level=logical', async () => {
  const url = await createTestDatabase('harness');
  const client = new pg.Client({connectionString: url});
  await client.connect();
  const {rows} = await client.query<{wal_level: string}>('SHOW wal_level');
  await client.end();
  expect(rows[0]?.wal_level).toBe('logical');
});
