// Helpers shared by the replicator's Postgres tests.
import Database from 'better-sqlite3';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {createLogger, formatLogLine} from '@zync/shared';
import type {Logger} from '@zync/shared';
import {fromReplicaRow, openReplica} from '../src/replica/open-replica.ts';
import {Replicator} from '../src/replicator/replicator.ts';

export function tempReplicaFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'zync-replica-')), 'replica.db');
}

export function captureLogger(lines: string[] = []): Logger {
  return createLogger('debug', (l, m, c) => {
    const line = formatLogLine(l, m, c);
    lines.push(line);
    if (process.env['ZYNC_TEST_LOG']) process.stdout.write(`${line}\n`);
  });
}

export async function pgClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({connectionString: url});
  await c.connect();
  // commit promptly so the walsender sees changes without waiting for the WAL writer
  await c.query('SET synchronous_commit = on');
  return c;
}

let apps = 0;
/** Slots are cluster-wide: every test replicator gets its own app id unless told otherwise. */
export function uniqueAppId(): string {
  return `t${process.pid}_${apps++}`;
}

export async function startReplicator(
  url: string,
  file = tempReplicaFile(),
  appId = uniqueAppId(),
  lines: string[] = [],
): Promise<Replicator> {
  const r = new Replicator({upstreamUrl: url, replicaFile: file, appId, lc: captureLogger(lines)});
  void r.run().catch(() => {});
  await r.ready;
  return r;
}

/** Resolves once the replica has caught up with everything committed upstream so far. */
export async function catchUp(client: pg.Client, r: Replicator, timeoutMs = 60_000): Promise<void> {
  // a marker transaction makes progress visible even if the last change was filtered out
  await client.query(`CREATE TABLE IF NOT EXISTS _marker (id int PRIMARY KEY, n int)`);
  const {rows} = await client.query<{lsn: string}>(
    `INSERT INTO _marker VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = _marker.n + 1 RETURNING pg_current_wal_insert_lsn()::text AS lsn`,
  );
  const [hi, lo] = rows[0]!.lsn.split('/');
  const target = ((BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)).toString(16).padStart(16, '0');
  const deadline = Date.now() + timeoutMs;
  while (r.version < target) {
    if (Date.now() > deadline) throw new Error(`replica stuck at ${r.version}, want ${target}`);
    await new Promise(res => setTimeout(res, 20));
  }
}

export function readReplicaTable(file: string, table: string): Record<string, unknown>[] {
  const rep = openReplica(file);
  try {
    const spec = rep.tables().get(table);
    if (!spec) return [];
    const stmt = rep.db.prepare(`SELECT * FROM "${table}"`).safeIntegers(true);
    return (stmt.all() as Record<string, unknown>[]).map(r => fromReplicaRow(spec, r, 'string'));
  } finally {
    rep.close();
  }
}

export function replicaDb(file: string): Database.Database {
  return new Database(file, {readonly: true});
}
