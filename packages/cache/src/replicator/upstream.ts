// Everything the replicator asks of the upstream database outside the change stream:
// preconditions, the app's publication/schema, slot status, and catalog lookups.
import pg from 'pg';
import {CLIENTS_TABLE, ensureClientsTable, shardNames, type ShardNames} from '@zync/pg';
import {quoteIdent} from '@zync/shared';
import {TYPE_NAMES_QUERY} from '../replica/pg-types.ts';
import {ReplicatorError} from './replicator-error.ts';

export type UpstreamNames = Pick<ShardNames, 'schema' | 'publication' | 'slot'>;

export function upstreamNames(appId: string): UpstreamNames {
  return shardNames(appId);
}

/** Session settings that make Postgres' text output easy and exact to parse. */
export const SESSION_OPTIONS = '-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=1';

export function newClient(url: string, replication = false): pg.Client {
  return new pg.Client({
    connectionString: url,
    options: SESSION_OPTIONS,
    ...(replication ? {replication: 'database'} : {}),
  });
}

export async function checkWalLevel(client: pg.Client): Promise<void> {
  const {rows} = await client.query<{wal_level: string}>('SHOW wal_level');
  const level = rows[0]?.wal_level;
  if (level !== 'logical') {
    throw new ReplicatorError(
      'wal-level',
      `upstream wal_level is '${level}', but replication needs 'logical'. ` +
        `Fix: run "ALTER SYSTEM SET wal_level = logical;" as a superuser and restart Postgres.`,
    );
  }
}

/**
 * Creates the app's internal schema and publication if missing. The publication covers
 * the `public` schema as a whole (`FOR TABLES IN SCHEMA`, Postgres 15+), so tables created
 * later are published without any ALTER PUBLICATION. Older servers get `FOR ALL TABLES`
 * and the replicator ignores tables outside `public`.
 */
export async function ensurePublication(client: pg.Client, names: UpstreamNames): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(names.schema)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(names.schema)}.replicas (
       slot TEXT PRIMARY KEY, initial_version TEXT NOT NULL, created_at TIMESTAMPTZ DEFAULT now())`,
  );
  const clients = `${quoteIdent(names.schema)}.${quoteIdent(CLIENTS_TABLE)}`;
  // The last-mutation-id table shared with the push paths (@zync/pg holds its DDL).
  await ensureClientsTable(names.schema, statement => client.query(statement));
  const {rows} = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
    names.publication,
  ]);
  if (rows.length > 0) {
    const {rows: has} = await client.query(
      `SELECT 1 FROM pg_publication_tables
       WHERE pubname = $1 AND schemaname = $2 AND tablename = $3`,
      [names.publication, names.schema, CLIENTS_TABLE],
    );
    if (has.length === 0) {
      await client.query(`ALTER PUBLICATION ${quoteIdent(names.publication)} ADD TABLE ${clients}`);
    }
    return;
  }
  const {rows: v} = await client.query<{v: string}>(
    `SELECT current_setting('server_version_num') AS v`,
  );
  const scope =
    Number(v[0]?.v) >= 150000 ? `TABLES IN SCHEMA public, TABLE ${clients}` : 'ALL TABLES';
  try {
    await client.query(`CREATE PUBLICATION ${quoteIdent(names.publication)} FOR ${scope}`);
  } catch (e) {
    // another instance may have created it at the same moment
    if ((e as {code?: string}).code !== '42710') throw e;
  }
}

export async function slotExists(client: pg.Client, slot: string): Promise<boolean> {
  const {rows} = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
    slot,
  ]);
  return rows.length > 0;
}

/** Drops the slot, waiting for a previous owner's connection to go away first. */
export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const {rows} = await client.query<{active_pid: number | null}>(
      'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    if (rows.length === 0) return;
    const pid = rows[0]!.active_pid;
    if (pid === null) {
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    }
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
    await new Promise(r => setTimeout(r, 100));
  }
}

export async function loadTypeNames(client: pg.Client): Promise<Map<number, string>> {
  const {rows} = await client.query<{oid: number; name: string}>(TYPE_NAMES_QUERY);
  return new Map(rows.map(r => [r.oid, r.name]));
}

export interface UpstreamTable {
  readonly oid: number;
  /** The replica's name: the table name for `public`, `_zync_clients` for ours. */
  readonly name: string;
  /** Where to read it upstream: `schema.table`, quoted. */
  readonly source: string;
  readonly columns: {name: string; pgType: string}[];
  readonly primaryKey: string[];
  /**
   * Key columns of the table's secondary btree indexes on plain columns (no expression,
   * partial or primary-key index), in index order. Absent when not looked up.
   */
  readonly indexes?: readonly (readonly string[])[];
}

/**
 * The replica name of our last-mutation-id table `zync_<appId>.clients`. It is replicated
 * with the app's tables so that a mutation's effects and the client's new last mutation
 * id arrive in the same replica transaction.
 */
export const CLIENTS_REPLICA_TABLE = '_zync_clients';

/** The replica name of an upstream relation, or null when it is not replicated. */
export function replicaTableName(
  schema: string,
  name: string,
  internalSchema: string,
): string | null {
  if (schema === 'public') return name;
  if (schema === internalSchema && name === 'clients') return CLIENTS_REPLICA_TABLE;
  return null;
}

/**
 * The published tables (the `public` schema and our clients table) with their columns
 * and primary keys.
 */
export async function listPublishedTables(
  client: pg.Client,
  publication: string,
  only?: string,
): Promise<UpstreamTable[]> {
  const internal = publication.replace(/_pub$/, '');
  const {rows} = await client.query<{
    oid: number;
    name: string;
    source: string;
    col: string;
    type: string;
    pk: number | null;
  }>(
    `SELECT c.oid::int AS oid,
            CASE WHEN pt.schemaname = 'public' THEN c.relname ELSE '${CLIENTS_REPLICA_TABLE}' END AS name,
            quote_ident(pt.schemaname) || '.' || quote_ident(c.relname) AS source,
            a.attname AS col,
            CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS type,
            array_position(i.indkey::int2[], a.attnum) AS pk
     FROM pg_publication_tables pt
     JOIN pg_namespace n ON n.nspname = pt.schemaname
     JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.attgenerated = ''
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
     LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
     WHERE pt.pubname = $1
       AND (pt.schemaname = 'public' OR (pt.schemaname = $3 AND pt.tablename = 'clients'))
       AND ($2::text IS NULL OR
            (CASE WHEN pt.schemaname = 'public' THEN c.relname ELSE '${CLIENTS_REPLICA_TABLE}' END) = $2)
     ORDER BY c.relname, a.attnum`,
    [publication, only ?? null, internal],
  );
  const byName = new Map<string, UpstreamTable & {pkPos: Map<string, number>}>();
  for (const r of rows) {
    let t = byName.get(r.name);
    if (!t) {
      t = {
        oid: r.oid,
        name: r.name,
        source: r.source,
        columns: [],
        primaryKey: [],
        pkPos: new Map(),
      };
      byName.set(r.name, t);
    }
    t.columns.push({name: r.col, pgType: r.type});
    if (r.pk !== null) t.pkPos.set(r.col, r.pk);
  }
  const indexes = await listSecondaryIndexes(
    client,
    [...byName.values()].map(t => t.oid),
  );
  return [...byName.values()].map(({pkPos, ...t}) => ({
    ...t,
    primaryKey: [...pkPos.entries()].sort((a, b) => a[1] - b[1]).map(e => e[0]),
    indexes: indexes.get(t.oid) ?? [],
  }));
}

/**
 * The valid, non-primary btree indexes of the given tables whose keys are plain columns
 * (expression and partial indexes are skipped; INCLUDE columns are not keys), by table oid.
 */
export async function listSecondaryIndexes(
  client: pg.Client,
  oids: readonly number[],
): Promise<Map<number, string[][]>> {
  const out = new Map<number, string[][]>();
  if (oids.length === 0) return out;
  const {rows} = await client.query<{oid: number; cols: string[]}>(
    `SELECT i.indrelid::int AS oid,
            array_agg(a.attname::text ORDER BY k.ord) AS cols
     FROM pg_index i
     JOIN pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = ANY($1::oid[])
       AND NOT i.indisprimary AND i.indisvalid
       AND i.indpred IS NULL AND i.indexprs IS NULL
       AND NOT (0 = ANY(i.indkey::int2[]))
       AND k.ord <= i.indnkeyatts
     GROUP BY i.indrelid, i.indexrelid, ic.relname
     ORDER BY i.indrelid, ic.relname`,
    [oids],
  );
  for (const r of rows) {
    let list = out.get(r.oid);
    if (!list) out.set(r.oid, (list = []));
    list.push(r.cols);
  }
  return out;
}
