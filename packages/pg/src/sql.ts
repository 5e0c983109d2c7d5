// The one way SQL with values is written: the `sql` tagged template of `sql-template-tag`
// gives `{text, values}` with `$1, $2, …` placeholders, and fragments nest (their values
// are renumbered). Identifiers go in through `ident`, quoted by `quoteIdent`, never as
// values. A value is a parameter; `inlineSql` is the one place that writes values into the
// SQL text, for statements that must travel without parameters (several statements in one
// simple query, or a transaction's first statement sent together with BEGIN).
import sqlTemplate, {empty, join, raw, Sql} from 'sql-template-tag';
import {quoteIdent} from '@zync/shared';
import {PgLayerError} from './errors.ts';

export {empty, join, raw, Sql};

/** `sql\`SELECT … WHERE id = ${id}\`` → `{text: 'SELECT … WHERE id = $1', values: [id]}`. */
export const sql: (strings: readonly string[], ...values: readonly unknown[]) => Sql = sqlTemplate;

export type Row = Record<string, unknown>;

/**
 * What runs one statement with `$n` parameters: a node-postgres Pool or client as they
 * are, or a small wrapper around another driver.
 */
export interface Queryable {
  query<R extends Row = Row>(text: string, values?: unknown[]): Promise<{rows: R[]}>;
}

/** Runs `query` on `db`: its rows. */
export async function run<R extends Row = Row>(db: Queryable, query: Sql): Promise<R[]> {
  return (await db.query<R>(query.text, query.values)).rows;
}

/** Quoted identifiers as a fragment: `ident('s', 't')` is `"s"."t"`. */
export function ident(...names: readonly string[]): Sql {
  return raw(names.map(quoteIdent).join('.'));
}

/**
 * A value as an SQL literal that Postgres reads as it would the same text sent as an untyped
 * parameter. Strings, numbers, bigints and booleans are written as quoted text, null and
 * undefined as NULL. A backslash makes it an `E''` literal with backslashes doubled, which
 * reads the same whatever `standard_conforming_strings` is. Text with a NUL character
 * cannot be written (Postgres text cannot hold it): a PgLayerError of kind 'nul-character'.
 */
export function quoteLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  let text: string;
  switch (typeof value) {
    case 'string':
      text = value;
      break;
    case 'number':
    case 'bigint':
    case 'boolean':
      text = String(value);
      break;
    default:
      throw new TypeError(`quoteLiteral: a ${typeof value} cannot be written as an SQL literal`);
  }
  if (text.includes('\u0000')) {
    throw new PgLayerError('nul-character', 'a text value contains a NUL character');
  }
  const body = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** The statement's SQL with every value written in as a literal (see `quoteLiteral`). */
export function inlineSql(query: Sql): string {
  const {strings, values} = query;
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += quoteLiteral(values[i]) + (strings[i + 1] ?? '');
  return out;
}

/** Statements for one simple query: each inlined, separated by `;`. */
export function inlineStatements(queries: readonly Sql[]): string {
  return queries.map(inlineSql).join('; ');
}
