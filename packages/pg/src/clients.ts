// The last mutation id of each client: `<shard schema>.clients`, in the upstream database.
// zero-cache's CRUD path, the API server's mutations and the replicator (which publishes
// it) all use this one table, created with this one DDL; a mutation's writes and its
// client's new last mutation id commit in the same transaction.
import {ident, join, sql, type Row, type Sql} from './sql.ts';

export const CLIENTS_TABLE = 'clients';

function clients(shardSchema: string): Sql {
  return ident(shardSchema, CLIENTS_TABLE);
}

/** The schema and table, created when missing (two statements). */
export function clientsTableDDL(shardSchema: string): string[] {
  return [
    sql`CREATE SCHEMA IF NOT EXISTS ${ident(shardSchema)}`.text,
    sql`CREATE TABLE IF NOT EXISTS ${clients(shardSchema)} (
      "clientGroupID" TEXT NOT NULL,
      "clientID" TEXT NOT NULL,
      "lastMutationID" BIGINT NOT NULL,
      PRIMARY KEY ("clientGroupID", "clientID"))`.text,
  ];
}

// Processes creating the same objects at once: IF NOT EXISTS can still fail on the
// catalog's unique index (23505), with a duplicate schema / table (42P06 / 42P07), or with
// the table's row type already there (42710).
const RACE_CODES = new Set(['23505', '42P06', '42P07', '42710']);

/**
 * Creates the schema and table when missing. `exec` runs one statement on its own (a
 * connection outside any transaction, or a transaction of its own); a statement that lost
 * a race with another process is run again, and then finds the object there.
 */
export async function ensureClientsTable(
  shardSchema: string,
  exec: (statement: string) => Promise<unknown>,
): Promise<void> {
  for (const statement of clientsTableDDL(shardSchema)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await exec(statement);
        break;
      } catch (e) {
        const code = (e as {code?: unknown}).code;
        if (attempt >= 3 || typeof code !== 'string' || !RACE_CODES.has(code)) throw e;
      }
    }
  }
}

/**
 * Adds one to the client's last mutation id (a new client starts at 1) and returns the new
 * value as `lmid` (text). The row stays locked until the transaction ends, so concurrent
 * pushes of one client serialise here.
 */
export function bumpLastMutationIDSql(
  shardSchema: string,
  clientGroupID: string,
  clientID: string,
): Sql {
  return sql`INSERT INTO ${clients(shardSchema)} AS c ("clientGroupID", "clientID", "lastMutationID")
    VALUES (${clientGroupID}::text, ${clientID}::text, 1)
    ON CONFLICT ("clientGroupID", "clientID")
    DO UPDATE SET "lastMutationID" = c."lastMutationID" + 1
    RETURNING "lastMutationID"::text AS lmid`;
}

/**
 * Two statements: insert the clients' rows when missing, then read their last mutation ids
 * (`id`, `lmid`) and lock the rows until the transaction ends. Locked in client id order,
 * so two transactions naming the same clients cannot deadlock.
 */
export function lockLastMutationIDsSql(
  shardSchema: string,
  clientGroupID: string,
  clientIDs: readonly string[],
): Sql[] {
  if (clientIDs.length === 0) return [];
  const t = clients(shardSchema);
  const ids = [...clientIDs].sort();
  return [
    sql`INSERT INTO ${t} ("clientGroupID", "clientID", "lastMutationID")
      VALUES ${join(
        ids.map(c => sql`(${clientGroupID}::text, ${c}::text, 0)`),
        ', ',
      )}
      ON CONFLICT DO NOTHING`,
    sql`SELECT "clientID" AS id, "lastMutationID"::text AS lmid FROM ${t}
      WHERE "clientGroupID" = ${clientGroupID}::text
        AND "clientID" IN (${join(
          ids.map(c => sql`${c}::text`),
          ', ',
        )})
      ORDER BY "clientID" FOR UPDATE`,
  ];
}

/** The last mutation ids in the rows of `lockLastMutationIDsSql`'s read (0 when absent). */
export function lastMutationIDsOf(
  rows: readonly Row[],
  clientIDs: readonly string[],
): Map<string, number> {
  const out = new Map<string, number>(clientIDs.map(c => [c, 0]));
  for (const r of rows) out.set(String(r['id']), Number(r['lmid']));
  return out;
}

/** One UPDATE per client, recording its new last mutation id. */
export function writeLastMutationIDsSql(
  shardSchema: string,
  clientGroupID: string,
  lmids: ReadonlyMap<string, number>,
): Sql[] {
  const t = clients(shardSchema);
  return [...lmids].map(
    ([clientID, lmid]) =>
      sql`UPDATE ${t} SET "lastMutationID" = ${String(lmid)}::text::bigint
        WHERE "clientGroupID" = ${clientGroupID}::text AND "clientID" = ${clientID}::text`,
  );
}
