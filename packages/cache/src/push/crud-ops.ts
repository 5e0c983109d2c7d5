// Applying one CRUD op to upstream Postgres, with the write permission checks around it.
// Tables and columns arrive in server names and are checked against the catalog before any
// SQL is built; the statements are @zync/pg's (identifiers quoted, values parameters).
import type {CrudOp} from '@zync/protocol';
import {
  deleteSql,
  fromPgRow,
  inlineSql,
  insertSql,
  PgLayerError,
  run,
  selectByKeySql,
  selectList,
  updateSql,
  type PgCatalog,
  type PgTable,
  type Queryable,
  type Sql,
} from '@zync/pg';
import {MutationFailure} from './push-failure.ts';
import type {Row, WriteAuthorizer} from './write-authorizer.ts';

type Value = CrudOp['value'];

export async function applyCrudOp(
  db: Queryable,
  op: CrudOp,
  catalog: PgCatalog,
  authorizer: WriteAuthorizer,
): Promise<void> {
  const table = await resolveTable(db, catalog, op);
  switch (op.op) {
    case 'insert': {
      const row = await oneRow(db, table, () => insertSql(table, op.value, returning(table)));
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
        const row = await oneRow(db, table, () =>
          insertSql(table, op.value, {...returning(table), upsert: true}),
        );
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
      await run(
        db,
        build(() => deleteSql(table, op.value)),
      );
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
 * The op as one SQL statement with its values written in as literals, so that the ops of
 * many mutations can go to Postgres in one simple query (one round trip). Undefined when
 * the op needs `applyCrudOp` instead: an upsert, an update with no column to set, a
 * permission rule that must see the row, or a value that cannot be written as text. An
 * update or delete whose key matches no row fails (division by zero) instead of doing
 * nothing: the batch then fails as a whole and is redone op by op, where `applyCrudOp`
 * tells the error apart. A value that does not fit its column is a MutationFailure.
 */
export function crudOpStatement(
  op: CrudOp,
  table: PgTable,
  authorizer: WriteAuthorizer,
): string | undefined {
  const allows = (action: Parameters<WriteAuthorizer['check']>[1]) =>
    authorizer.allowsEveryRow?.(action, table.name) ?? false;
  let statement: Sql | undefined;
  switch (op.op) {
    case 'insert':
      if (!allows('insert')) return undefined;
      statement = build(() => insertSql(table, op.value));
      break;
    case 'update':
      if (!allows('update.preMutation') || !allows('update.postMutation')) return undefined;
      statement = build(() => updateSql(table, op.value, {requireRow: true}));
      break;
    case 'delete':
      if (!allows('delete')) return undefined;
      statement = build(() => deleteSql(table, op.value, {requireRow: true}));
      break;
    case 'upsert':
      return undefined;
  }
  if (statement === undefined) return undefined;
  try {
    return inlineSql(statement);
  } catch (e) {
    if (e instanceof PgLayerError && e.kind === 'nul-character') return undefined;
    throw e;
  }
}

export async function resolveTable(
  db: Queryable,
  catalog: PgCatalog,
  op: CrudOp,
): Promise<PgTable> {
  let table = await catalog.table(db, op.table);
  if (table && Object.keys(op.value).some(c => !table?.columns.has(c))) {
    table = await catalog.table(db, op.table, {refresh: true}); // the schema may have changed
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

/** Builds a statement; a value that does not fit its column becomes a MutationFailure. */
function build<T>(statement: () => T): T {
  try {
    return statement();
  } catch (e) {
    if (e instanceof PgLayerError && e.kind === 'invalid-value') {
      throw new MutationFailure('invalid-value', e.message);
    }
    if (e instanceof PgLayerError && e.kind === 'unknown-column') {
      throw new MutationFailure('unknown-column', e.message);
    }
    throw e;
  }
}

function returning(table: PgTable): {returning: string} {
  return {returning: selectList(table)};
}

/** Runs a statement that returns (at most) one row: that row as the client sees it. */
async function oneRow(
  db: Queryable,
  table: PgTable,
  statement: () => Sql,
): Promise<Row | undefined> {
  const r = (await run(db, build(statement)))[0];
  return r ? fromPgRow(table, r) : undefined;
}

async function selectForUpdate(
  db: Queryable,
  table: PgTable,
  value: Value,
): Promise<Row | undefined> {
  return oneRow(db, table, () =>
    selectByKeySql(table, value, selectList(table), {forUpdate: true}),
  );
}

/** Sets the given non-key columns; undefined when there were none to set. */
async function update(db: Queryable, table: PgTable, value: Value): Promise<Row | undefined> {
  const statement = build(() => updateSql(table, value, returning(table)));
  if (!statement) return undefined;
  return oneRow(db, table, () => statement);
}
