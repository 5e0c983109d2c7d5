// Replays the row operations of change-log entries on a follower's replica: one SQLite
// transaction per upstream transaction, holding the rows, the replica's own change-log
// entries (the same the manager's replicator wrote for it) and the new version.
import type Database from 'better-sqlite3';
import {quoteIdent} from '@zync/shared';
import {readTableSpecs} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import type {SqliteValue} from '../replica/values.ts';
import {formatLsn, versionToLsn} from '../replica/version.ts';
import {keyJson} from '../replicator/change-applier.ts';
import {TxChangeLog} from '../replicator/change-log.ts';
import type {RowOp} from './row-ops.ts';

/** The operations do not fit the replica (it is not the manager's state before them). */
export class RowOpMismatch extends Error {
  override readonly name = 'RowOpMismatch';
}

export class RowOpApplier {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();
  readonly #log = new TxChangeLog();
  #specs: Map<string, TableSpec>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#specs = readTableSpecs(db);
  }

  /** Forgets what it knew of the replica's tables (after a snapshot replaced its content). */
  reload(): void {
    this.#stmts.clear();
    this.#specs = readTableSpecs(this.#db);
  }

  /** Applies one transaction's `ops` as `version`, all or nothing. */
  apply(version: string, ops: readonly RowOp[]): void {
    const db = this.#db;
    try {
      db.transaction(() => {
        for (const op of ops) this.#applyOne(op);
        this.#log.flush(
          this.#stmt(
            'log',
            `INSERT INTO _zync_changelog (version, seq, tbl, op, key) VALUES (?, ?, ?, ?, ?)`,
          ),
          version,
        );
        const state = this.#stmt(
          'state',
          `UPDATE _zync_replication_state SET version = ?, lsn = ? WHERE id = 0`,
        ).run(version, formatLsn(versionToLsn(version)));
        if (state.changes !== 1) throw new RowOpMismatch('the replica has no replication state');
      })();
    } catch (e) {
      this.#log.clear();
      // statements of tables that turned out to differ are not kept
      this.#stmts.clear();
      if (e instanceof RowOpMismatch) throw e;
      throw new RowOpMismatch(`applying change ${version} failed`, {cause: e});
    }
  }

  #applyOne(op: RowOp): void {
    const spec = this.#specs.get(op.table);
    if (!spec) throw new RowOpMismatch(`the replica has no table ${JSON.stringify(op.table)}`);
    const t = quoteIdent(op.table);
    const kinds = spec.primaryKey.map(k => spec.columns[k]!.kind);
    switch (op.op) {
      case 'set': {
        const cols = op.columns;
        this.#stmt(
          `set\u0000${op.table}\u0000${cols.join('\u0000')}`,
          `INSERT OR REPLACE INTO ${t} (${cols.map(quoteIdent).join(', ')})
           VALUES (${cols.map(() => '?').join(', ')})`,
        ).run(op.values);
        this.#log.row(op.table, 'set', keyJson(kinds, op.values, keyIndexes(spec, cols)));
        return;
      }
      case 'del': {
        const idx = keyIndexes(spec, op.columns);
        const key: SqliteValue[] = idx.map(i => op.values[i]!);
        this.#stmt(
          `del\u0000${op.table}`,
          `DELETE FROM ${t} WHERE ${spec.primaryKey.map(k => `${quoteIdent(k)} = ?`).join(' AND ')}`,
        ).run(key);
        this.#log.row(op.table, 'del', keyJson(kinds, key));
        return;
      }
      case 'truncate':
        this.#db.exec(`DELETE FROM ${t}`);
        this.#log.table(op.table, 'truncate');
        return;
    }
  }

  #stmt(id: string, sql: string): Database.Statement {
    let s = this.#stmts.get(id);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(id, s);
    }
    return s;
  }
}

/** Where each primary-key column of `spec` is in `columns`. */
function keyIndexes(spec: TableSpec, columns: readonly string[]): number[] {
  return spec.primaryKey.map(k => {
    const i = columns.indexOf(k);
    if (i < 0) {
      throw new RowOpMismatch(`a row operation on ${JSON.stringify(spec.name)} lacks its key`);
    }
    return i;
  });
}
