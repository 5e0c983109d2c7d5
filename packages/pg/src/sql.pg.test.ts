// An inlined literal must mean to Postgres exactly what the parameter would have.
import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../test/pg.ts';
import {inlineSql, sql} from './sql.ts';

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({connectionString: await createTestDatabase('pglayer_sql')});
  await client.connect();
});
afterAll(() => client.end());

const awkward = [
  '',
  "it's",
  'back\\slash',
  "\\' ; DROP TABLE x; --",
  "$1 $$ E'x'",
  'line\nbreak\ttab',
  '✓ ünï 𝄞',
  '"quoted"',
];

test.each(['on', 'off'])(
  'with standard_conforming_strings %s, literal and parameter read the same',
  async setting => {
    await client.query(`SET standard_conforming_strings = ${setting}`);
    for (const text of awkward) {
      const q = sql`SELECT ${text}::text AS v`;
      const byParam = await client.query<{v: string}>(q.text, q.values);
      const byLiteral = await client.query<{v: string}>(inlineSql(q));
      expect(byParam.rows[0]?.v).toBe(text);
      expect(byLiteral.rows[0]?.v).toBe(text);
    }
  },
);
