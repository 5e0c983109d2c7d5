// The last mutation id of each client, in `zync_<appID>.clients` upstream. The API server's
// PushProcessor keeps the same table (same DDL as packages/server's `clientsTableDDL`) for
// custom mutations, so both write paths agree on what was processed. It is read with FOR
// UPDATE and bumped inside the transaction that applies the mutations: a mutation is
// applied at most once, and in order.
import type {Queryable} from './pg-catalog.ts';
import {quoteIdent, sqlLiteral} from './pg-values.ts';

/** The internal upstream schema of an app (`zync_<appID>`). */
export function shardSchemaOf(appID: string): string {
  return `zync_${appID}`;
}

export class ClientMutationIDs {
  readonly #table: string;
  readonly #schema: string;
  #ensured = false;

  constructor(shardSchema: string) {
    this.#schema = quoteIdent(shardSchema);
    this.#table = `${this.#schema}.${quoteIdent('clients')}`;
  }

  /** Creates the schema and table when missing (outside any transaction). */
  async ensureTable(db: Queryable): Promise<void> {
    if (this.#ensured) return;
    try {
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (
           "clientGroupID" TEXT NOT NULL,
           "clientID" TEXT NOT NULL,
           "lastMutationID" BIGINT NOT NULL,
           PRIMARY KEY ("clientGroupID", "clientID"))`,
      );
    } catch (e) {
      // Two creators racing: IF NOT EXISTS can still fail on the catalog's unique index.
      const code = (e as {code?: unknown}).code;
      if (code !== '23505' && code !== '42P07' && code !== '42P06') throw e;
    }
    this.#ensured = true;
  }

  /**
   * Statements for one simple query (after BEGIN) that insert the clients' rows when missing
   * and read their last mutation ids, locking the rows until commit; `readLocked` parses the
   * answer. Locked in client order, so two pushes naming the same clients cannot deadlock.
   */
  lockAndReadSQL(clientGroupID: string, clientIDs: readonly string[]): string {
    const g = literal(clientGroupID);
    const cs = [...clientIDs].sort().map(literal);
    return (
      `INSERT INTO ${this.#table} ("clientGroupID", "clientID", "lastMutationID") ` +
      `VALUES ${cs.map(c => `(${g}, ${c}, 0)`).join(', ')} ON CONFLICT DO NOTHING; ` +
      `SELECT "clientID" AS id, "lastMutationID" AS lmid FROM ${this.#table} ` +
      `WHERE "clientGroupID" = ${g} AND "clientID" IN (${cs.join(', ')}) ` +
      `ORDER BY "clientID" FOR UPDATE`
    );
  }

  /** The last mutation ids (0 when unknown) in the last result of `lockAndReadSQL`'s query. */
  readLocked(
    result: {rows: Record<string, unknown>[]},
    clientIDs: readonly string[],
  ): Map<string, number> {
    const out = new Map<string, number>(clientIDs.map(c => [c, 0]));
    for (const r of result.rows) out.set(String(r['id']), Number(r['lmid']));
    return out;
  }

  /** Statements for one simple query that record the clients' new last mutation ids. */
  writeSQL(clientGroupID: string, lmids: ReadonlyMap<string, number>): string {
    const g = literal(clientGroupID);
    return [...lmids]
      .map(
        ([c, lmid]) =>
          `UPDATE ${this.#table} SET "lastMutationID" = ${literal(String(lmid))} ` +
          `WHERE "clientGroupID" = ${g} AND "clientID" = ${literal(c)}`,
      )
      .join('; ');
  }

  /** The client's last mutation id (0 when unknown), locking its row until commit. */
  async lockAndRead(db: Queryable, clientGroupID: string, clientID: string): Promise<number> {
    await db.query(
      `INSERT INTO ${this.#table} ("clientGroupID", "clientID", "lastMutationID")
       VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`,
      [clientGroupID, clientID],
    );
    const res = await db.query<{lmid: string}>(
      `SELECT "lastMutationID" AS lmid FROM ${this.#table}
       WHERE "clientGroupID" = $1 AND "clientID" = $2 FOR UPDATE`,
      [clientGroupID, clientID],
    );
    return Number(res.rows[0]?.lmid ?? 0);
  }

  async write(
    db: Queryable,
    clientGroupID: string,
    clientID: string,
    lastMutationID: number,
  ): Promise<void> {
    await db.query(
      `UPDATE ${this.#table} SET "lastMutationID" = $3
       WHERE "clientGroupID" = $1 AND "clientID" = $2`,
      [clientGroupID, clientID, lastMutationID],
    );
  }
}

function literal(s: string): string {
  const lit = sqlLiteral(s);
  if (lit === undefined) throw new TypeError('an id contains a NUL character');
  return lit;
}
