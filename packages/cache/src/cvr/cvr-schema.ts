// The tables of the CVR store and their migrations (see docs/cvr.md, "Tables").
import type pg from 'pg';

/**
 * 2: row keys and content hashes changed form (row-key.ts, poke-encoder.ts). CVRs are a
 * cache of what clients hold, so a version-1 store is emptied: its clients get a reset.
 * 3: groups record their owner (`owner`, `owner_epoch`, see cvr-ownership.ts); existing
 * groups start at owner epoch 0, which their next load raises.
 */
export const SCHEMA_VERSION = 3;

/**
 * Brings schema `s` (quoted) to SCHEMA_VERSION, inside the caller's transaction, under an
 * advisory lock so that processes starting together do it once.
 */
export async function migrateCVRSchema(c: pg.PoolClient, s: string): Promise<void> {
  await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [s]);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (version int NOT NULL)`);
  const {rows} = await c.query<{version: number}>(`SELECT version FROM ${s}.meta`);
  const current = rows[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `CVR schema version ${current} is newer than this server supports (${SCHEMA_VERSION}); ` +
        'run the same zero-cache version on every node',
    );
  }
  if (current === SCHEMA_VERSION) return;
  if (current === 0) {
    await createTables(c, s);
    await c.query(`INSERT INTO ${s}.meta (version) VALUES (${SCHEMA_VERSION})`);
    return;
  }
  if (current === 1) await c.query(`TRUNCATE ${s}.groups, ${s}.queries, ${s}.rows`);
  await c.query(`ALTER TABLE ${s}.groups ADD COLUMN owner text,
    ADD COLUMN owner_epoch bigint NOT NULL DEFAULT 0`);
  await c.query(`UPDATE ${s}.meta SET version = ${SCHEMA_VERSION}`);
}

async function createTables(c: pg.PoolClient, s: string): Promise<void> {
  await c.query(`
    CREATE TABLE ${s}.groups (
      group_id text PRIMARY KEY,
      epoch text NOT NULL,
      seq bigint NOT NULL,
      horizon bigint NOT NULL,
      replica_version text,
      owned boolean NOT NULL,
      last_active timestamptz NOT NULL DEFAULT now(),
      owner text,
      owner_epoch bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE ${s}.queries (
      group_id text NOT NULL,
      hash text NOT NULL,
      ast jsonb,
      name text,
      args jsonb,
      desired_by jsonb NOT NULL,
      ttl_ms bigint NOT NULL,
      inactive_since bigint,
      got_seq bigint,
      replica_version text,
      patch_seq bigint NOT NULL,
      deleted boolean NOT NULL,
      PRIMARY KEY (group_id, hash)
    );
    CREATE TABLE ${s}.rows (
      group_id text NOT NULL,
      row_key text NOT NULL,
      tbl text NOT NULL,
      row_id jsonb NOT NULL,
      content_hash text,
      refs jsonb NOT NULL,
      patch_seq bigint NOT NULL,
      deleted boolean NOT NULL,
      PRIMARY KEY (group_id, row_key)
    );
  `);
}
