// Write permissions for CRUD mutations: the connection's bound rules evaluated against the
// rows a mutation touches, inside the mutation's own transaction. EXISTS conditions are
// answered from Postgres in that same transaction (so they see earlier writes of the push):
// zql's SQL compiler (Postgres dialect, the write rules' comparison semantics) turns the
// subquery's condition, nested EXISTS included, into one `SELECT EXISTS (…)`. Where SQL
// cannot decide exactly, the statement reads the candidate child rows instead and the
// subquery's condition is evaluated on each in JS, recursively. `evaluateCondition` is
// synchronous, so the EXISTS answers of one level are fetched first and handed to it.
import type {Condition, ExistsCondition} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import {
  clientToServer,
  evaluateCondition,
  isAlwaysFalse,
  isAlwaysTrue,
  mapAST,
  serverToClient,
  type BoundPermissions,
  type PermissionAction,
} from '@zync/zql';
import {compileWhere, numberParams, postgresDialect, type QueryContext} from '@zync/zql/sql';
import type {PgCatalog, PgTable, Queryable} from '@zync/pg';
import {fromPgRow, quoteIdent, selectList} from '@zync/pg';
import {sqlTable} from './pg-sql-table.ts';
import {MutationFailure} from './push-failure.ts';

export type Row = Readonly<Record<string, ReadonlyJSONValue>>;

/** Checks one write; throws a MutationFailure of kind 'permission' when denied. */
export interface WriteAuthorizer {
  /**
   * `columns` (server names) are those the write sets: only their cell rules apply. Left
   * out (a delete), the cell rules of every column apply.
   */
  check(
    db: Queryable,
    action: PermissionAction,
    serverTable: string,
    row: Row,
    columns?: readonly string[],
  ): Promise<void>;
  /**
   * True when `check` allows every row of this action on this table without reading
   * anything: the write then needs no row read back for it. Absent means false.
   */
  allowsEveryRow?(action: PermissionAction, serverTable: string): boolean;
}

/** Allows everything (no permissions configured). */
export const allowAllWrites: WriteAuthorizer = {
  check: () => Promise.resolve(),
  allowsEveryRow: () => true,
};

const RULE_NAMES: Record<PermissionAction, string> = {
  select: 'select',
  insert: 'insert',
  'update.preMutation': 'update (preMutation)',
  'update.postMutation': 'update (postMutation)',
  delete: 'delete',
};

type CellCondition = {readonly column: string; readonly condition: Condition};

export class BoundWriteAuthorizer implements WriteAuthorizer {
  readonly #bound: BoundPermissions;
  readonly #catalog: PgCatalog;
  /** Conditions in server names, per action and server table. */
  readonly #conditions = new Map<string, Condition>();
  /** Cell conditions in server names, per action and server table. */
  readonly #cells = new Map<string, readonly CellCondition[]>();

  constructor(bound: BoundPermissions, catalog: PgCatalog) {
    this.#bound = bound;
    this.#catalog = catalog;
  }

  async check(
    db: Queryable,
    action: PermissionAction,
    serverTable: string,
    row: Row,
    columns?: readonly string[],
  ) {
    const rule = RULE_NAMES[action];
    const cond = this.#serverCondition(action, serverTable);
    if (!(await this.#allows(db, cond, row))) {
      throw new MutationFailure(
        'permission',
        `Permission denied: the ${rule} rule of table ${serverTable} does not allow this write`,
      );
    }
    for (const cell of this.#cellConditions(action, serverTable)) {
      if (columns !== undefined && !columns.includes(cell.column)) continue;
      if (!(await this.#allows(db, cell.condition, row))) {
        throw new MutationFailure(
          'permission',
          `Permission denied: the ${rule} rule of column ${cell.column} of table ` +
            `${serverTable} does not allow this write`,
        );
      }
    }
  }

  async #allows(db: Queryable, cond: Condition, row: Row): Promise<boolean> {
    if (isAlwaysTrue(cond)) return true;
    return isAlwaysFalse(cond) ? false : await this.#evaluate(db, cond, row);
  }

  allowsEveryRow(action: PermissionAction, serverTable: string): boolean {
    try {
      return (
        isAlwaysTrue(this.#serverCondition(action, serverTable)) &&
        this.#cellConditions(action, serverTable).every(c => isAlwaysTrue(c.condition))
      );
    } catch {
      return false; // a table outside the app's schema: check() says why
    }
  }

  #clientTable(serverTable: string): string {
    try {
      return serverToClient(this.#bound.schema).tableName(serverTable);
    } catch {
      throw new MutationFailure(
        'permission',
        `Permission denied: table ${serverTable} is not in the app's schema`,
      );
    }
  }

  /** A condition over `clientTable`'s rows in server names. */
  #toServer(clientTable: string, cond: Condition): Condition {
    // Mapping a one-table query renames the condition's columns and EXISTS subqueries.
    const schema = this.#bound.schema;
    return mapAST({kind: 'query', table: clientTable, where: cond}, schema, 'server').where ?? cond;
  }

  #serverCondition(action: PermissionAction, serverTable: string): Condition {
    const key = `${action}\u0000${serverTable}`;
    const hit = this.#conditions.get(key);
    if (hit) return hit;
    const clientTable = this.#clientTable(serverTable);
    const result = this.#toServer(clientTable, this.#bound.condition(clientTable, action));
    this.#conditions.set(key, result);
    return result;
  }

  /** The cell policies of `action` on the table's columns, in server names. */
  #cellConditions(action: PermissionAction, serverTable: string): readonly CellCondition[] {
    const key = `${action}\u0000${serverTable}`;
    const hit = this.#cells.get(key);
    if (hit) return hit;
    const clientTable = this.#clientTable(serverTable);
    const toServer = clientToServer(this.#bound.schema);
    const out: CellCondition[] = [];
    for (const column of this.#bound.cellColumns(clientTable, action)) {
      const cond = this.#bound.cellCondition(clientTable, column, action);
      if (cond === undefined) continue;
      out.push({
        column: toServer.columnName(clientTable, column),
        condition: this.#toServer(clientTable, cond),
      });
    }
    this.#cells.set(key, out);
    return out;
  }

  async #evaluate(db: Queryable, cond: Condition, row: Row): Promise<boolean> {
    const exists = collectExists(cond);
    const answers = new Map<ExistsCondition, boolean>();
    for (const e of exists) answers.set(e, await this.#anyChild(db, e, row));
    return evaluateCondition(cond, row, e => answers.get(e) ?? false);
  }

  /** Whether some row of the subquery's table matches the correlation and its condition. */
  async #anyChild(db: Queryable, cond: ExistsCondition, parent: Row): Promise<boolean> {
    const sub = cond.related.subquery;
    if (sub.limit === 0) return false;
    const table = await this.#table(db, sub.table);
    const {parentField, childField} = cond.related.correlation;
    const params: unknown[] = [];
    const where: string[] = [];
    for (let i = 0; i < childField.length; i++) {
      const v = parent[parentField[i] ?? ''] ?? null;
      if (v === null) return false; // NULL never equals anything
      const col = childField[i] ?? '';
      if (!table.columns.has(col)) {
        throw new MutationFailure(
          'unknown-column',
          `column ${col} of table ${sub.table} (in a permission rule) does not exist`,
        );
      }
      params.push(typeof v === 'object' ? JSON.stringify(v) : v);
      where.push(`c.${quoteIdent(col)} = $${params.length}`);
    }
    const tables = new Map<string, PgTable>([[sub.table, table]]);
    await this.#loadExistsTables(db, sub.where, table, tables);
    const ctx: QueryContext = {
      dialect: postgresDialect,
      rules: 'permissions',
      table: name => sqlTable(tables.get(name) as PgTable),
    };
    const f = compileWhere(sub.where, sub.table, 'c', ctx);
    const conds = [...where, f.sql].join(' AND ');
    const from = `FROM ${table.sqlName} AS c WHERE ${numberParams(conds, params.length + 1)}`;
    const allParams = [...params, ...f.params];
    if (f.exact) {
      const res = await db.query<{found: boolean}>(
        `SELECT EXISTS (SELECT 1 ${from}) AS found`,
        allParams,
      );
      return res.rows[0]?.found === true;
    }
    // The SQL selects a superset of the matching rows: the rule's condition decides.
    const res = await db.query<Record<string, unknown>>(
      `SELECT ${selectList(table)} ${from}`,
      allParams,
    );
    for (const r of res.rows) {
      const child = fromPgRow(table, r);
      if (!sub.where || (await this.#evaluate(db, sub.where, child))) return true;
    }
    return false;
  }

  async #table(db: Queryable, name: string): Promise<PgTable> {
    const table = await this.#catalog.table(db, name);
    if (!table) {
      throw new MutationFailure(
        'unknown-table',
        `table ${name} (in a permission rule) does not exist`,
      );
    }
    return table;
  }

  /** Describes every table the EXISTS conditions inside `cond` (over `table`) reach. */
  async #loadExistsTables(
    db: Queryable,
    cond: Condition | undefined,
    table: PgTable,
    out: Map<string, PgTable>,
  ): Promise<void> {
    if (!cond) return;
    for (const e of collectExists(cond)) {
      const sub = e.related.subquery;
      const child = out.get(sub.table) ?? (await this.#table(db, sub.table));
      out.set(sub.table, child);
      const {parentField, childField} = e.related.correlation;
      for (const [t, cols] of [
        [table, parentField],
        [child, childField],
      ] as const) {
        const missing = cols.find(c => !t.columns.has(c));
        if (missing !== undefined) {
          throw new MutationFailure(
            'unknown-column',
            `column ${missing} of table ${t.name} (in a permission rule) does not exist`,
          );
        }
      }
      await this.#loadExistsTables(db, sub.where, child, out);
    }
  }
}

/** The EXISTS conditions at this level (not those nested in their subqueries). */
function collectExists(cond: Condition, out: ExistsCondition[] = []): ExistsCondition[] {
  switch (cond.kind) {
    case 'exists':
      out.push(cond);
      break;
    case 'and':
    case 'or':
      for (const c of cond.conditions) collectExists(c, out);
      break;
    case 'simple':
      break;
  }
  return out;
}
