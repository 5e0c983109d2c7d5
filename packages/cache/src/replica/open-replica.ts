// The reader's side of the replica: table specs and SQLite-to-JSON value conversion.
// Readers (the view syncer) hold their own connections on the replica file.
import Database from 'better-sqlite3';
import type {JSONValue} from '@zync/shared';
import {readReplicationState, readTableSpecs} from './replica-schema.ts';
import type {TableSpec} from './table-spec.ts';

export interface Replica {
  readonly db: Database.Database;
  /** Re-read after a 'reset' entry in the change log, or when a table is missing. */
  tables(): Map<string, TableSpec>;
  /** The version the replica is at right now (in this connection's snapshot). */
  version(): string;
  close(): void;
}

export interface OpenReplicaOptions {
  readonly readonly?: boolean;
}

/** Opens a read connection on a replica file written by the replicator. */
export function openReplica(file: string, opts: OpenReplicaOptions = {}): Replica {
  const db = new Database(file, {readonly: opts.readonly ?? true, fileMustExist: true});
  const versionStmt = db.prepare(`SELECT version FROM _zync_replication_state WHERE id = 0`);
  return {
    db,
    tables: () => {
      const specs = readTableSpecs(db);
      const out = new Map<string, TableSpec>();
      for (const [name, {upstreamOid: _oid, ...spec}] of specs) out.set(name, spec);
      return out;
    },
    version: () => {
      const row = versionStmt.get() as {version: string} | undefined;
      if (!row) throw new Error('the replica has not finished its initial copy');
      return row.version;
    },
    close: () => db.close(),
  };
}

/** What `fromReplicaRow` does with int8 values beyond ±2^53. */
export type BigIntMode = 'number' | 'bigint' | 'string';

/**
 * Converts a row read from the replica into JSON values by the table's spec. Rows may be
 * read with or without `safeIntegers`: int8 values outside the safe range are exact only
 * with `safeIntegers(true)`, and are then returned as `bigintMode` says (default `number`,
 * which is what clients see on the wire; `bigint` or `string` keep them exact).
 */
export function fromReplicaRow(
  spec: TableSpec,
  row: Readonly<Record<string, unknown>>,
  bigintMode: BigIntMode = 'number',
): Record<string, JSONValue> {
  const out: Record<string, JSONValue> = {};
  for (const name in spec.columns) {
    const v = row[name];
    if (v === undefined) continue;
    out[name] = fromReplicaValue(spec.columns[name]!.kind, v, bigintMode) as JSONValue;
  }
  return out;
}

export function fromReplicaValue(
  kind: string,
  v: unknown,
  bigintMode: BigIntMode = 'number',
): JSONValue | bigint {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'boolean':
      return v === 1 || v === 1n || v === true;
    case 'json':
      return JSON.parse(asText(v)) as JSONValue;
    case 'number':
      if (typeof v === 'bigint') {
        if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
          return Number(v);
        }
        return bigintMode === 'bigint' ? v : bigintMode === 'string' ? v.toString() : Number(v);
      }
      return v as number;
    default:
      return asText(v);
  }
}

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? '';
}

export {readReplicationState};
