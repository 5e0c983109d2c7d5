// Applying one CRUD op to upstream Postgres, with the write permission checks around it.
// Tables and columns arrive in server names and are checked against the catalog before any
// SQL is built; identifiers are quoted, values are parameters.
import type {CrudOp} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {PgCatalog, PgTable, Queryable} from './pg-catalog.ts';
import {fromPgRow, quoteIdent, selectList, sqlLiteral, toPgParam} from './pg-values.ts';
import {MutationFailure} from './push-failure.ts';
import type {Row, WriteAuthorizer} from './write-authorizer.ts';

type Value = Readonly<Record<string, ReadonlyJSONValue>>;

export async function applyCrudOp(
  db: Queryable,
  op: CrudOp,
  catalog: PgCatalog,
  authorizer: WriteAuthorizer,
): Promise<void> {
  const table = await resolveTable(db, catalog, op);
  switch (op.op) {
    case 'insert': {
      const row = await insert(db, table, op.value, false);
      if (row) await authorizer.check(db, 'insert', table.name, row, Object.keys(op.value));
      return;
    }
    case 'upsert': {
      const old = await selectForUpdate(db, table, op.value);
      const set = Object.keys(op.value);
      if (old) {
        await authorizer.check(db, 'update.preMutation', table.name, old, set);
        const row = (await update(db, table, op.value)) ?? old;
        await authorizer.check(db, 'update.postMutation', table.name, row, set);
      } else {
        const row = await insert(db, table, op.value, true);
        if (row) await authorizer.check(db, 'insert', table.name, row, set);
      }
      return;
    }
    case 'update': {
      const old = await selectForUpdate(db, table, op.value);
      if (!old) throw missingRow('update', table);
      const set = Object.keys(op.value);
      await authorizer.check(db, 'update.preMutation', table.name, old, set);
      const row = (await update(db, table, op.value)) ?? old;
      await authorizer.check(db, 'update.postMutation', table.name, row, set);
      return;
    }
    case 'delete': {
      const old = await selectForUpdate(db, table, op.value);
      if (!old) throw missingRow('delete', table);
      await authorizer.check(db, 'delete', table.name, old);
      const {sql, params} = pkWhere(table, op.value, 1);
      await db.query(`DELETE FROM ${quoteIdent(table.name)} WHERE ${sql}`, params);
      return;
    }
  }
}

function missingRow(verb: string, table: PgTable): MutationFailure {
  return new MutationFailure(
    'missing-row',
    `${verb} of ${table.name}: no row has the given primary key`,
  );
}

/**
 * The op as one SQL statement with its values written as literals, so that the ops of many
 * mutations can go to Postgres in one simple query (one round trip). Undefined when the op
 * needs `applyCrudOp` instead: an upsert, an update with no column to set, a permission
 * rule that must see the row, or a value that cannot be a literal. An update or delete
 * whose key matches no row fails (division by zero) instead of doing nothing: the batch
 * then fails as a whole and is redone op by op, where `applyCrudOp` tells the error apart.
 */
export function crudOpStatement(
  op: CrudOp,
  table: PgTable,
  authorizer: WriteAuthorizer,
): string | undefined {
  const allows = (action: Parameters<WriteAuthorizer['check']>[1]) =>
    authorizer.allowsEveryRow?.(action, table.name) ?? false;
  const t = quoteIdent(table.name);
  switch (op.op) {
    case 'insert': {
      if (!allows('insert')) return undefined;
      const cols = Object.keys(op.value).filter(c => op.value[c] !== undefined);
      if (cols.length === 0) return `INSERT INTO ${t} DEFAULT VALUES`;
      const values = literals(table, op.value, cols);
      if (!values) return undefined;
      return `INSERT INTO ${t} (${cols.map(quoteIdent).join(', ')}) VALUES (${values.join(', ')})`;
    }
    case 'update': {
      if (!allows('update.preMutation') || !allows('update.postMutation')) return undefined;
      const cols = Object.keys(op.value).filter(
        c => op.value[c] !== undefined && !table.primaryKey.includes(c),
      );
      if (cols.length === 0) return undefined;
      const values = literals(table, op.value, cols);
      const where = literalPkWhere(table, op.value);
      if (!values || where === undefined) return undefined;
      const set = cols.map((c, i) => `${quoteIdent(c)} = ${values[i]}`).join(', ');
      return `WITH w AS (UPDATE ${t} SET ${set} WHERE ${where} RETURNING 1) SELECT 1 / count(*) FROM w`;
    }
    case 'delete': {
      if (!allows('delete')) return undefined;
      const where = literalPkWhere(table, op.value);
      if (where === undefined) return undefined;
      return `WITH w AS (DELETE FROM ${t} WHERE ${where} RETURNING 1) SELECT 1 / count(*) FROM w`;
    }
    case 'upsert':
      return undefined;
  }
}

function literals(table: PgTable, value: Value, cols: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (const c of cols) {
    const lit = sqlLiteral(param(table, c, value[c] ?? null));
    if (lit === undefined) return undefined;
    out.push(lit);
  }
  return out;
}

function literalPkWhere(table: PgTable, value: Value): string | undefined {
  const values = literals(table, value, table.primaryKey);
  return values && table.primaryKey.map((k, i) => `${quoteIdent(k)} = ${values[i]}`).join(' AND ');
}

export async function resolveTable(
  db: Queryable,
  catalog: PgCatalog,
  op: CrudOp,
): Promise<PgTable> {
  let table = await catalog.table(db, op.table);
  if (table && Object.keys(op.value).some(c => !table?.columns.has(c))) {
    table = await catalog.table(db, op.table, true); // the schema may have changed
  }
  if (!table) throw new MutationFailure('unknown-table', `unknown table ${op.table}`);
  for (const c of Object.keys(op.value)) {
    if (!table.columns.has(c)) {
      throw new MutationFailure('unknown-column', `unknown column ${c} in table ${table.name}`);
    }
  }
  if (table.primaryKey.length === 0) {
    throw new MutationFailure('unsupported', `table ${table.name} has no primary key`);
  }
  if (op.op !== 'insert') {
    for (const k of table.primaryKey) {
      if (op.value[k] === undefined || op.value[k] === null) {
        throw new MutationFailure(
          'invalid-value',
          `${op.op} of ${table.name} needs its primary key column ${k}`,
        );
      }
    }
  }
  return table;
}

function param(table: PgTable, col: string, value: ReadonlyJSONValue): unknown {
  const c = table.columns.get(col);
  if (!c)
    throw new MutationFailure('unknown-column', `unknown column ${col} in table ${table.name}`);
  return toPgParam(table, c, value);
}

function pkWhere(table: PgTable, value: Value, first: number): {sql: string; params: unknown[]} {
  const params = table.primaryKey.map(k => param(table, k, value[k] ?? null));
  const sql = table.primaryKey.map((k, i) => `${quoteIdent(k)} = $${first + i}`).join(' AND ');
  return {sql, params};
}

async function selectForUpdate(
  db: Queryable,
  table: PgTable,
  value: Value,
): Promise<Row | undefined> {
  const {sql, params} = pkWhere(table, value, 1);
  const res = await db.query<Record<string, unknown>>(
    `SELECT ${selectList(table)} FROM ${quoteIdent(table.name)} WHERE ${sql} FOR UPDATE`,
    params,
  );
  const r = res.rows[0];
  return r ? fromPgRow(table, r) : undefined;
}

async function insert(
  db: Queryable,
  table: PgTable,
  value: Value,
  upsert: boolean,
): Promise<Row | undefined> {
  const cols = Object.keys(value).filter(c => value[c] !== undefined);
  const params = cols.map(c => param(table, c, value[c] ?? null));
  const t = quoteIdent(table.name);
  let sql =
    cols.length === 0
      ? `INSERT INTO ${t} DEFAULT VALUES`
      : `INSERT INTO ${t} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`;
  if (upsert) {
    const pk = table.primaryKey.map(quoteIdent).join(', ');
    const rest = cols.filter(c => !table.primaryKey.includes(c));
    sql +=
      rest.length === 0
        ? ` ON CONFLICT (${pk}) DO NOTHING`
        : ` ON CONFLICT (${pk}) DO UPDATE SET ${rest.map(c => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
  }
  const res = await db.query<Record<string, unknown>>(
    `${sql} RETURNING ${selectList(table)}`,
    params,
  );
  const r = res.rows[0];
  return r ? fromPgRow(table, r) : undefined;
}

/** Sets the given non-key columns; undefined when there were none to set. */
async function update(db: Queryable, table: PgTable, value: Value): Promise<Row | undefined> {
  const cols = Object.keys(value).filter(
    c => value[c] !== undefined && !table.primaryKey.includes(c),
  );
  if (cols.length === 0) return undefined;
  const params = cols.map(c => param(table, c, value[c] ?? null));
  const set = cols.map((c, i) => `${quoteIdent(c)} = $${i + 1}`).join(', ');
  const where = pkWhere(table, value, params.length + 1);
  const res = await db.query<Record<string, unknown>>(
    `UPDATE ${quoteIdent(table.name)} SET ${set} WHERE ${where.sql} RETURNING ${selectList(table)}`,
    [...params, ...where.params],
  );
  const r = res.rows[0];
  return r ? fromPgRow(table, r) : undefined;
}
