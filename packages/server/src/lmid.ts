// The last-mutation-id table, shared with zero-cache's CRUD path:
// `zync_<appID>.clients("clientGroupID", "clientID", "lastMutationID")`.
// docs/api-server.md holds the DDL contract.
import type {DBConnection, DBTransaction} from './db.ts';
import {ServerError} from './errors.ts';
import {quoteIdent} from './pg-columns.ts';

const APP_ID = /^[a-z0-9_]+$/;

/** The internal schema of an app id (the same name zero-cache uses). */
export function upstreamSchemaOf(appID: string): string {
  if (!APP_ID.test(appID)) {
    throw new ServerError('invalidRequest', 'appID must match /^[a-z0-9_]+$/');
  }
  return `zync_${appID}`;
}

export function clientsTableDDL(upstreamSchema: string): string[] {
  const s = quoteIdent(upstreamSchema);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.clients (
      "clientGroupID" TEXT NOT NULL,
      "clientID" TEXT NOT NULL,
      "lastMutationID" BIGINT NOT NULL,
      PRIMARY KEY ("clientGroupID", "clientID"))`,
  ];
}

// Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog.
const RACE_CODES = new Set(['23505', '42P06', '42P07']);

/** Creates the schema and table if missing; safe to race with other processes. */
export async function ensureClientsTable(
  conn: DBConnection<unknown>,
  upstreamSchema: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await conn.transaction(async tx => {
        for (const sql of clientsTableDDL(upstreamSchema)) await tx.query(sql, []);
      });
      return;
    } catch (e) {
      const code = (e as {code?: unknown}).code;
      if (attempt < 3 && typeof code === 'string' && RACE_CODES.has(code)) continue;
      throw new ServerError('database', 'could not create the last-mutation-id table', {cause: e});
    }
  }
}

/**
 * Increments the client's last mutation id (creating its row at 1) and returns the new
 * value. The row stays locked until the transaction ends, so concurrent pushes of one
 * client serialise here.
 */
export async function bumpLastMutationID(
  tx: DBTransaction<unknown>,
  upstreamSchema: string,
  clientGroupID: string,
  clientID: string,
): Promise<number> {
  // Literal ids, no parameters: this is a transaction's first statement, which an adapter
  // can then send together with BEGIN (one round trip less per mutation).
  const rows = await tx.query(
    `INSERT INTO ${quoteIdent(upstreamSchema)}.clients AS c ("clientGroupID", "clientID", "lastMutationID")
       VALUES (${quoteLiteral(clientGroupID)}::text, ${quoteLiteral(clientID)}::text, 1)
       ON CONFLICT ("clientGroupID", "clientID")
       DO UPDATE SET "lastMutationID" = c."lastMutationID" + 1
       RETURNING "lastMutationID"::text AS lmid`,
    [],
  );
  return Number(rows[0]?.['lmid']);
}

/**
 * A string as an SQL literal. Backslashes make it an E'' literal with them doubled, so it
 * reads the same whatever `standard_conforming_strings` is.
 */
export function quoteLiteral(s: string): string {
  if (s.includes('\u0000')) {
    throw new ServerError('invalidRequest', 'an id contains a NUL character');
  }
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? ` E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** The client's last mutation id, 0 when it has none. */
export async function readLastMutationID(
  tx: DBTransaction<unknown>,
  upstreamSchema: string,
  clientGroupID: string,
  clientID: string,
): Promise<number> {
  const rows = await tx.query(
    `SELECT "lastMutationID"::text AS lmid FROM ${quoteIdent(upstreamSchema)}.clients
       WHERE "clientGroupID" = $1::text AND "clientID" = $2::text`,
    [clientGroupID, clientID],
  );
  return rows[0] ? Number(rows[0]['lmid']) : 0;
}
