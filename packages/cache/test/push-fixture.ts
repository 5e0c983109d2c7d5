// Helpers for the push tests: an upstream database with a few tables, a log capture.
import pg from 'pg';
import {createLogger, type Logger, type LogContext, type LogLevel} from '@zync/shared';
import {createTestDatabase} from '../../../test/pg.ts';

export type CapturedLog = {lines: string[]; logger: Logger};

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const logger = createLogger('debug', (level: LogLevel, msg: string, ctx: LogContext) => {
    lines.push(`${level} ${msg} ${JSON.stringify(ctx)}`);
  });
  return {lines, logger};
}

export async function upstreamWithTables(): Promise<pg.Pool> {
  const url = await createTestDatabase('push');
  const pool = new pg.Pool({connectionString: url, max: 4});
  await pool.query(`
    CREATE TABLE project (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL);
    CREATE TABLE issue (
      id TEXT PRIMARY KEY,
      title TEXT NOT NULL,
      owner_id TEXT,
      project_id TEXT,
      created TIMESTAMP,
      due TIMESTAMPTZ,
      labels TEXT[],
      meta JSONB,
      points INT8,
      CONSTRAINT issue_title_unique UNIQUE (title));
  `);
  return pool;
}
