// The two drivers the layer must serve alike, each as a `Queryable` on a fresh database.
import pg from 'pg';
import postgres from 'postgres';
import {createTestDatabase} from '../../../test/pg.ts';
import type {Queryable, Row} from '../src/sql.ts';

export type Driver = {
  readonly db: Queryable;
  /** Runs `fn` in one transaction (BEGIN … COMMIT, ROLLBACK when it throws). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  end(): Promise<void>;
};

export type DriverFactory = (url: string) => Driver;

export const drivers: [name: string, open: DriverFactory][] = [
  [
    'pg',
    url => {
      const pool = new pg.Pool({connectionString: url, max: 4});
      return {
        db: pool,
        async transaction(fn) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            const out = await fn(client);
            await client.query('COMMIT');
            return out;
          } catch (e) {
            await client.query('ROLLBACK');
            throw e;
          } finally {
            client.release();
          }
        },
        end: () => pool.end(),
      };
    },
  ],
  [
    'postgres.js',
    url => {
      const sql = postgres(url, {onnotice: () => {}, max: 4});
      const wrap = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
        async query<R extends Row>(text: string, values: unknown[] = []) {
          const rows = await s.unsafe(text, values as postgres.ParameterOrJSON<never>[]);
          return {rows: [...rows] as unknown as R[]};
        },
      });
      return {
        db: wrap(sql),
        transaction: fn => sql.begin(tx => fn(wrap(tx))) as Promise<never>,
        end: () => sql.end(),
      };
    },
  ],
];

/** A new database with `ddl` run in it; its URL. */
export async function databaseWith(ddl: string, prefix = 'pglayer'): Promise<string> {
  const url = await createTestDatabase(prefix);
  const client = new pg.Client({connectionString: url});
  await client.connect();
  try {
    await client.query(ddl);
  } finally {
    await client.end();
  }
  return url;
}
