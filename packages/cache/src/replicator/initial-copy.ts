// The initial copy: every published table is streamed with COPY ... TO STDOUT from one
// exported snapshot and inserted into SQLite in batched transactions.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import {to as copyTo} from 'pg-copy-streams';
import {quoteIdent, type Logger} from '@zync/shared';
import {sqliteTypeOf} from '../replica/pg-types.ts';
import {writeTableMetadata} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {copyConverter, copySelectExpr} from '../replica/values.ts';
import type {SqliteValue} from '../replica/values.ts';
import {CopyTextParser} from './copy-text-parser.ts';
import type {UpstreamTable} from './upstream.ts';

type DB = Database.Database;

const ROWS_PER_STATEMENT = 50;
const ROWS_PER_TRANSACTION = 20_000;
const PROGRESS_INTERVAL_MS = 2_000;

/** Creates the replica table and its metadata (inside the caller's transaction). */
export function createReplicaTable(db: DB, t: UpstreamTable): TableSpec {
  const cols = t.columns.map(c => `${quoteIdent(c.name)} ${sqliteTypeOf(c.pgType)}`);
  db.exec(
    `CREATE TABLE ${quoteIdent(t.name)} (${cols.join(', ')}, PRIMARY KEY (${t.primaryKey
      .map(quoteIdent)
      .join(', ')}))`,
  );
  return writeTableMetadata(db, t.name, t.oid, t.columns, t.primaryKey);
}

/**
 * Mirrors the upstream secondary indexes of `t` (see `UpstreamTable.indexes`) as
 * `CREATE INDEX IF NOT EXISTS "<table>__<cols>"`, with the primary-key columns appended
 * so that ordered scans have a total order. Indexes on columns the replica does not have,
 * and indexes the primary key already provides, are skipped. Returns the names created.
 */
export function createReplicaIndexes(db: DB, t: UpstreamTable): string[] {
  const have = new Set(t.columns.map(c => c.name));
  const seen = new Set<string>();
  const created: string[] = [];
  for (const idx of t.indexes ?? []) {
    if (idx.length === 0 || !idx.every(c => have.has(c))) continue;
    const cols = [...idx, ...t.primaryKey.filter(k => !idx.includes(k))];
    // an index that starts with the whole primary key adds nothing to the table's own
    if (t.primaryKey.every((k, i) => cols[i] === k)) continue;
    const key = JSON.stringify(cols);
    if (seen.has(key)) continue;
    seen.add(key);
    const name = `${t.name}__${idx.join('_')}`;
    db.exec(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${quoteIdent(t.name)} (${cols
        .map(quoteIdent)
        .join(', ')})`,
    );
    created.push(name);
  }
  return created;
}

export interface CopyResult {
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Streams one table from `client` (already inside the snapshot's transaction) into the
 * replica. `mode` 'insert' is for empty tables; 'upsert' keeps rows that already exist
 * (used when a table shows up later in the stream).
 */
export async function copyTable(
  client: pg.Client,
  db: DB,
  t: UpstreamTable,
  lc: Logger,
  mode: 'insert' | 'ignore' = 'insert',
): Promise<CopyResult> {
  // 'ignore' runs inside the caller's transaction; 'insert' commits in batches.
  const manageTx = mode === 'insert';
  const colList = t.columns.map(c => quoteIdent(c.name)).join(', ');
  const select = t.columns.map(c => copySelectExpr(quoteIdent(c.name), c.pgType)).join(', ');
  const verb = mode === 'insert' ? 'INSERT' : 'INSERT OR IGNORE';
  const one = `(${t.columns.map(() => '?').join(', ')})`;
  const single = db.prepare(`${verb} INTO ${quoteIdent(t.name)} (${colList}) VALUES ${one}`);
  const multi = db.prepare(
    `${verb} INTO ${quoteIdent(t.name)} (${colList}) VALUES ${Array.from(
      {length: ROWS_PER_STATEMENT},
      () => one,
    ).join(', ')}`,
  );
  const ncols = t.columns.length;
  const pending: SqliteValue[] = [];
  let pendingRows = 0;
  let rowsInTx = 0;
  let rows = 0;
  let bytes = 0;
  const started = Date.now();
  let lastLog = started;

  const flushStatementBatch = () => {
    if (pendingRows === ROWS_PER_STATEMENT) {
      multi.run(pending);
    } else {
      for (let i = 0; i < pendingRows; i++) single.run(pending.slice(i * ncols, (i + 1) * ncols));
    }
    pending.length = 0;
    pendingRows = 0;
  };

  if (manageTx) db.exec('BEGIN');
  const parser = new CopyTextParser(
    t.columns.map(c => copyConverter(c.pgType)),
    row => {
      for (let i = 0; i < ncols; i++) pending.push(row[i]!);
      pendingRows++;
      rows++;
      if (pendingRows === ROWS_PER_STATEMENT) {
        flushStatementBatch();
        rowsInTx += ROWS_PER_STATEMENT;
        if (manageTx && rowsInTx >= ROWS_PER_TRANSACTION) {
          db.exec('COMMIT');
          db.exec('BEGIN');
          rowsInTx = 0;
        }
      }
    },
  );
  try {
    const stream = client.query(copyTo(`COPY (SELECT ${select} FROM ${t.source}) TO STDOUT`));
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      bytes += buf.length;
      parser.push(buf);
      const now = Date.now();
      if (now - lastLog >= PROGRESS_INTERVAL_MS) {
        lastLog = now;
        lc.info('initial copy progress', {
          table: t.name,
          rows,
          rowsPerSec: Math.round((rows * 1000) / (now - started)),
          mb: Math.round(bytes / 1e5) / 10,
        });
      }
    }
    parser.end();
    flushStatementBatch();
    if (manageTx) db.exec('COMMIT');
  } catch (e) {
    if (manageTx && db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
  const ms = Math.max(1, Date.now() - started);
  lc.info('copied table', {table: t.name, rows, ms, rowsPerSec: Math.round((rows * 1000) / ms)});
  return {rows, bytes};
}
