// Test helper: a replica file written the way the replicator writes it (rows, change-log
// entries, version bump in one transaction), for the SQLite source and snapshotter tests.
import Database from 'better-sqlite3';
import {
  createInternalTables,
  writeInitialState,
  writeTableMetadata,
} from '../src/replica/replica-schema.ts';
import {lsnToVersion} from '../src/replica/version.ts';
import {quoteIdent} from '@zync/shared';
import {toParam} from '../src/sqlite-engine/sqlite-filter.ts';

export type TestTable = {
  readonly name: string;
  /** Column name → upstream type (`int4`, `text`, `bool`, `jsonb`, ...). */
  readonly columns: Readonly<Record<string, string>>;
  readonly primaryKey: readonly string[];
};

type Val = string | number | boolean | null;
type TestRow = Readonly<Record<string, unknown>>;

export type TestChange =
  | {readonly type: 'add'; readonly row: TestRow}
  | {readonly type: 'remove'; readonly row: TestRow}
  | {readonly type: 'edit'; readonly oldRow: TestRow; readonly row: TestRow};

function stored(v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return toParam(v);
  return JSON.stringify(v);
}

export class TestReplica {
  readonly file: string;
  readonly db: Database.Database;
  readonly #tables = new Map<string, TestTable>();
  #counter = 1;

  constructor(file: string, tables: readonly TestTable[]) {
    this.file = file;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = OFF');
    createInternalTables(this.db);
    for (const t of tables) {
      this.#tables.set(t.name, t);
      const cols = Object.entries(t.columns).map(([name, pgType]) => ({name, pgType}));
      const defs = cols.map(c => `${quoteIdent(c.name)} ${sqliteType(c.pgType)}`);
      this.db.exec(
        `CREATE TABLE ${quoteIdent(t.name)} (${defs.join(', ')}, PRIMARY KEY (${t.primaryKey
          .map(quoteIdent)
          .join(', ')}))`,
      );
      writeTableMetadata(this.db, t.name, 0, cols, t.primaryKey);
    }
    const version = this.version;
    writeInitialState(this.db, {
      version,
      lsn: '0/1',
      changelogFloor: version,
      appId: 'test',
      publication: 'p',
      slot: 's',
      initialVersion: version,
    });
  }

  get version(): string {
    return lsnToVersion(BigInt(this.#counter));
  }

  #keyJson(t: TestTable, row: TestRow): string {
    return JSON.stringify(t.primaryKey.map(k => (row[k] ?? null) as Val));
  }

  /** Applies changes as one upstream transaction; returns the new version. */
  apply(changes: readonly {readonly table: string; readonly change: TestChange}[]): string {
    this.#counter++;
    const version = this.version;
    const log = this.db.prepare(
      `INSERT INTO _zync_changelog (version, seq, tbl, op, key) VALUES (?, ?, ?, ?, ?)`,
    );
    let seq = 0;
    this.db.transaction(() => {
      for (const {table, change} of changes) {
        const t = this.#tables.get(table);
        if (!t) throw new TypeError('unknown table');
        const delRow = (row: TestRow) =>
          this.db
            .prepare(
              `DELETE FROM ${quoteIdent(t.name)} WHERE ${t.primaryKey.map(k => `${quoteIdent(k)} IS ?`).join(' AND ')}`,
            )
            .run(...t.primaryKey.map(k => stored(row[k])));
        const del = (row: TestRow) => {
          delRow(row);
          log.run(version, seq++, t.name, 'del', this.#keyJson(t, row));
        };
        const put = (row: TestRow) => {
          const cols = Object.keys(t.columns);
          // Upstream keys are never null, but the harness's are: SQLite keeps NULL keys distinct.
          delRow(row);
          this.db
            .prepare(
              `INSERT OR REPLACE INTO ${quoteIdent(t.name)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
            )
            .run(...cols.map(c => stored(row[c])));
          log.run(version, seq++, t.name, 'set', this.#keyJson(t, row));
        };
        if (change.type === 'remove') del(change.row);
        else if (change.type === 'add') put(change.row);
        else {
          if (this.#keyJson(t, change.oldRow) !== this.#keyJson(t, change.row)) del(change.oldRow);
          put(change.row);
        }
      }
      this.db.prepare(`UPDATE _zync_replication_state SET version = ? WHERE id = 0`).run(version);
    })();
    return version;
  }

  /** Logs a table-level entry (`truncate` deletes the rows too). */
  tableOp(table: string, op: 'truncate' | 'reset'): string {
    this.#counter++;
    const version = this.version;
    this.db.transaction(() => {
      if (op === 'truncate') this.db.exec(`DELETE FROM ${quoteIdent(table)}`);
      this.db
        .prepare(
          `INSERT INTO _zync_changelog (version, seq, tbl, op, key) VALUES (?, 0, ?, ?, NULL)`,
        )
        .run(version, table, op);
      this.db.prepare(`UPDATE _zync_replication_state SET version = ? WHERE id = 0`).run(version);
    })();
    return version;
  }

  close(): void {
    this.db.close();
  }
}

function sqliteType(pgType: string): string {
  if (pgType.startsWith('int') || pgType === 'bool') return 'INTEGER';
  if (pgType.startsWith('float') || pgType === 'numeric') return 'REAL';
  return 'TEXT';
}
