import pg from 'pg';
import {afterAll, expect, test} from 'vitest';
import {silentLogger} from '@zync/shared';
import {createTestDatabase} from '../../../../test/pg.ts';
import {PgGroupPins} from './group-pins.ts';

const pools: pg.Pool[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

test('a pin made before identities is bound by its own user’s first connection', async () => {
  const pool = new pg.Pool({connectionString: await createTestDatabase('group_pins'), max: 2});
  pools.push(pool);
  // The table as it was: a userID per group, no identity.
  await pool.query(`CREATE SCHEMA "zync_t_cvr";
    CREATE TABLE "zync_t_cvr".group_users (group_id text PRIMARY KEY, user_id text NOT NULL,
      pinned_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO "zync_t_cvr".group_users (group_id, user_id) VALUES ('g', 'alice');`);
  const pins = new PgGroupPins(pool, 't', silentLogger);
  await pins.init();
  // Another declared user is refused, and that refusal does not bind anything.
  expect(await pins.claim('g', {userID: 'mallory', identity: 'sub:mallory'})).toBe(false);
  expect(await pins.claim('g', {userID: 'alice', identity: 'sub:alice'})).toBe(true);
  // Bound now: the same userID with another identity (no token) is refused.
  expect(await pins.claim('g', {userID: 'alice', identity: 'anonymous'})).toBe(false);
  const fresh = new PgGroupPins(pool, 't', silentLogger);
  expect(await fresh.claim('g', {userID: 'alice', identity: 'anonymous'})).toBe(false);
  expect(await fresh.claim('g', {userID: 'alice', identity: 'sub:alice'})).toBe(true);
});
