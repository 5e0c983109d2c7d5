// Upstream reads for tables that appear, or grow columns, while streaming. They read the
// current upstream state (later than the stream position); rows changed since then are
// streamed again afterwards, so the replica converges.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import {to as copyTo} from 'pg-copy-streams';
import {quoteIdent, type Logger} from '@zync/shared';
import {copyConverter, copySelectExpr} from '../replica/values.ts';
import type {Backfill} from './change-applier.ts';
import {CopyTextParser} from './copy-text-parser.ts';
import {copyTable} from './initial-copy.ts';
import {listPublishedTables} from './upstream.ts';

export function upstreamBackfill(
  client: pg.Client,
  db: Database.Database,
  publication: string,
  lc: Logger,
): Backfill {
  return {
    describe: async name => (await listPublishedTables(client, publication, name))[0],
    rows: async t => {
      await copyTable(client, db, t, lc, 'ignore');
    },
    columns: async (t, columns) => {
      const cols = [...t.primaryKey, ...columns].map(n => t.columns.find(c => c.name === n)!);
      const select = cols.map(c => copySelectExpr(quoteIdent(c.name), c.pgType)).join(', ');
      const update = db.prepare(
        `UPDATE ${quoteIdent(t.name)} SET ${columns.map(c => `${quoteIdent(c)} = ?`).join(', ')}
         WHERE ${t.primaryKey.map(k => `${quoteIdent(k)} = ?`).join(' AND ')}`,
      );
      const nk = t.primaryKey.length;
      const parser = new CopyTextParser(
        cols.map(c => copyConverter(c.pgType)),
        row => update.run([...row.slice(nk), ...row.slice(0, nk)]),
      );
      const stream = client.query(copyTo(`COPY (SELECT ${select} FROM ${t.source}) TO STDOUT`));
      for await (const chunk of stream) parser.push(chunk as Buffer);
      parser.end();
      lc.info('backfilled added columns', {table: t.name, columns: columns.length});
    },
  };
}
