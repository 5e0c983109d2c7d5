// The replica's internal tables (prefix `_zync_`). docs/replica.md is the contract.
import type Database from 'better-sqlite3';
import {kindOfType} from './pg-types.ts';
import type {ColumnSpec, TableSpec} from './table-spec.ts';

type DB = Database.Database;

export const INTERNAL_PREFIX = '_zync_';

export function createInternalTables(db: DB): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS _zync_replication_state (
      id INTEGER PRIMARY KEY CHECK (id = 0),
      version TEXT NOT NULL,
      lsn TEXT NOT NULL,
      changelog_floor TEXT NOT NULL,
      app_id TEXT NOT NULL,
      publication TEXT NOT NULL,
      slot TEXT NOT NULL,
      initial_version TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS _zync_tables (
      tbl TEXT PRIMARY KEY,
      upstream_oid INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS _zync_columns (
      tbl TEXT NOT NULL,
      col TEXT NOT NULL,
      pos INTEGER NOT NULL,
      pg_type TEXT NOT NULL,
      kind TEXT NOT NULL,
      pk_pos INTEGER,
      PRIMARY KEY (tbl, col)
    );
    CREATE TABLE IF NOT EXISTS _zync_changelog (
      version TEXT NOT NULL,
      seq INTEGER NOT NULL,
      tbl TEXT NOT NULL,
      op TEXT NOT NULL,
      key TEXT,
      PRIMARY KEY (version, seq)
    );
  `);
}

export interface ReplicationState {
  readonly version: string;
  readonly lsn: string;
  readonly changelogFloor: string;
  readonly appId: string;
  readonly publication: string;
  readonly slot: string;
  readonly initialVersion: string;
}

export function readReplicationState(db: DB): ReplicationState | undefined {
  const exists = db
    .prepare(
      `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_zync_replication_state'`,
    )
    .get();
  if (!exists) return undefined;
  const row = db.prepare(`SELECT * FROM _zync_replication_state WHERE id = 0`).get() as
    Record<string, string> | undefined;
  if (!row) return undefined;
  return {
    version: row['version']!,
    lsn: row['lsn']!,
    changelogFloor: row['changelog_floor']!,
    appId: row['app_id']!,
    publication: row['publication']!,
    slot: row['slot']!,
    initialVersion: row['initial_version']!,
  };
}

export function writeInitialState(db: DB, s: ReplicationState): void {
  db.prepare(
    `INSERT OR REPLACE INTO _zync_replication_state
       (id, version, lsn, changelog_floor, app_id, publication, slot, initial_version)
     VALUES (0, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(s.version, s.lsn, s.changelogFloor, s.appId, s.publication, s.slot, s.initialVersion);
}

/** Reads every replicated table's spec from the metadata tables. */
export function readTableSpecs(db: DB): Map<string, TableSpec & {upstreamOid: number}> {
  const tables = db.prepare(`SELECT tbl, upstream_oid FROM _zync_tables`).all() as {
    tbl: string;
    upstream_oid: number;
  }[];
  const cols = db
    .prepare(`SELECT tbl, col, pg_type, kind, pk_pos FROM _zync_columns ORDER BY tbl, pos`)
    .all() as {tbl: string; col: string; pg_type: string; kind: string; pk_pos: number | null}[];
  const out = new Map<string, TableSpec & {upstreamOid: number}>();
  for (const t of tables) {
    const columns: Record<string, ColumnSpec> = {};
    const pk: {col: string; pos: number}[] = [];
    for (const c of cols) {
      if (c.tbl !== t.tbl) continue;
      // Defined, not assigned: a column named `__proto__` must not become the prototype.
      Object.defineProperty(columns, c.col, {
        value: {pgType: c.pg_type, kind: c.kind as ColumnSpec['kind']},
        enumerable: true,
        writable: true,
        configurable: true,
      });
      if (c.pk_pos !== null) pk.push({col: c.col, pos: c.pk_pos});
    }
    pk.sort((a, b) => a.pos - b.pos);
    out.set(t.tbl, {
      name: t.tbl,
      columns,
      primaryKey: pk.map(p => p.col),
      upstreamOid: t.upstream_oid,
    });
  }
  return out;
}

export interface UpstreamColumn {
  readonly name: string;
  readonly pgType: string;
}

/** Writes a table's metadata rows (replacing earlier ones). */
export function writeTableMetadata(
  db: DB,
  name: string,
  upstreamOid: number,
  columns: readonly UpstreamColumn[],
  primaryKey: readonly string[],
): TableSpec {
  db.prepare(`DELETE FROM _zync_columns WHERE tbl = ?`).run(name);
  db.prepare(`INSERT OR REPLACE INTO _zync_tables (tbl, upstream_oid) VALUES (?, ?)`).run(
    name,
    upstreamOid,
  );
  const ins = db.prepare(
    `INSERT INTO _zync_columns (tbl, col, pos, pg_type, kind, pk_pos) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const specCols: Record<string, ColumnSpec> = {};
  columns.forEach((c, i) => {
    const kind = kindOfType(c.pgType);
    const pkPos = primaryKey.indexOf(c.name);
    ins.run(name, c.name, i, c.pgType, kind, pkPos >= 0 ? pkPos : null);
    specCols[c.name] = {kind, pgType: c.pgType};
  });
  return {name, columns: specCols, primaryKey: [...primaryKey]};
}

export function dropTableMetadata(db: DB, name: string): void {
  db.prepare(`DELETE FROM _zync_columns WHERE tbl = ?`).run(name);
  db.prepare(`DELETE FROM _zync_tables WHERE tbl = ?`).run(name);
}
