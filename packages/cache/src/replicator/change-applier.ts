// Applies decoded pgoutput messages to the replica: one SQLite transaction per upstream
// transaction, the change log written in the same transaction, transactions at or below
// the stored position skipped (so a restart never applies anything twice).
import type Database from 'better-sqlite3';
import {quoteIdent, type Logger} from '@zync/shared';
import {sqliteTypeOf} from '../replica/pg-types.ts';
import {dropTableMetadata, readTableSpecs, writeTableMetadata} from '../replica/replica-schema.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import {streamConverter} from '../replica/values.ts';
import type {SqliteValue, TextConverter} from '../replica/values.ts';
import {formatLsn, lsnToVersion} from '../replica/version.ts';
import type {ChangeLogSink, RowOp} from '../change-db/row-ops.ts';
import {TxChangeLog} from './change-log.ts';
import {UNCHANGED_TOAST} from './pgoutput-decoder.ts';
import type {PgOutputMessage, Relation, TupleValue} from './pgoutput-decoder.ts';
import {createReplicaIndexes} from './initial-copy.ts';
import type {UpstreamTable} from './upstream.ts';
import {replicaTableName} from './upstream.ts';

type DB = Database.Database;

/** Upstream reads the applier needs when tables appear or grow columns. */
export interface Backfill {
  /** The table's current upstream definition, or undefined if it is gone or unpublished. */
  describe(name: string): Promise<UpstreamTable | undefined>;
  /** Copies the table's current upstream rows in, keeping rows already present. */
  rows(t: UpstreamTable): Promise<void>;
  /** Fills `columns` of existing replica rows from their current upstream values. */
  columns(t: UpstreamTable, columns: readonly string[]): Promise<void>;
}

interface Bound {
  readonly spec: TableSpec;
  readonly table: string;
  readonly names: readonly string[];
  readonly convert: readonly TextConverter[];
  /** Index in the relation's columns of each primary-key column. */
  readonly keyIdx: readonly number[];
  readonly keyKinds: readonly string[];
}

export class ChangeApplier {
  readonly #db: DB;
  readonly #lc: Logger;
  readonly #typeNames: Map<number, string>;
  readonly #backfill: Backfill;
  readonly #specs: Map<string, TableSpec & {upstreamOid: number}>;
  readonly #bound = new WeakMap<Relation, Bound | null>();
  readonly #refused = new Set<string>();
  readonly #stmts = new Map<string, Database.Statement>();
  readonly #log = new TxChangeLog();
  readonly #insertLog: Database.Statement;
  readonly #writeState: Database.Statement;
  #lsn: bigint;
  #version: string;
  #txLsn: bigint | null = null;
  #skip = false;
  readonly #internalSchema: string;
  /** Where each transaction's row operations go before the replica commits it (if set). */
  readonly #sink: ChangeLogSink | undefined;
  /** The current transaction's row operations, collected only with a sink. */
  #ops: RowOp[] | undefined;
  /** Bumped by abort(): a commit awaiting the sink then knows its transaction is gone. */
  #generation = 0;

  constructor(
    db: DB,
    lc: Logger,
    typeNames: Map<number, string>,
    backfill: Backfill,
    lsn: bigint,
    version: string,
    internalSchema = '',
    sink?: ChangeLogSink,
  ) {
    this.#internalSchema = internalSchema;
    this.#sink = sink;
    this.#db = db;
    this.#lc = lc;
    this.#typeNames = typeNames;
    this.#backfill = backfill;
    this.#specs = readTableSpecs(db);
    this.#lsn = lsn;
    this.#version = version;
    this.#insertLog = db.prepare(
      `INSERT INTO _zync_changelog (version, seq, tbl, op, key) VALUES (?, ?, ?, ?, ?)`,
    );
    this.#writeState = db.prepare(
      `UPDATE _zync_replication_state SET version = ?, lsn = ? WHERE id = 0`,
    );
  }

  /** The last applied commit LSN (or the initial copy's position). */
  get lsn(): bigint {
    return this.#lsn;
  }

  get version(): string {
    return this.#version;
  }

  get inTransaction(): boolean {
    return this.#txLsn !== null;
  }

  /**
   * Applies one message. Returns the new version after a commit that changed the
   * replica, null otherwise. Returns a promise only when upstream reads are needed.
   */
  handle(msg: PgOutputMessage): string | null | Promise<string | null> {
    switch (msg.tag) {
      case 'begin':
        this.#txLsn = msg.commitLsn;
        this.#skip = msg.commitLsn <= this.#lsn;
        if (this.#sink) this.#ops = [];
        return null;
      case 'commit':
        return this.#commit(msg.commitLsn);
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate': {
        if (this.#skip) return null;
        const rels = msg.tag === 'truncate' ? msg.relations : [msg.relation];
        if (rels.every(r => this.#bound.has(r))) {
          this.#apply(msg);
          return null;
        }
        return this.#bindAll(rels).then(() => {
          this.#apply(msg);
          return null;
        });
      }
      default:
        return null;
    }
  }

  /** Drops a half-applied transaction (after an error or a lost connection). */
  abort(): void {
    if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    this.#log.clear();
    this.#ops = undefined;
    this.#generation++;
    this.#txLsn = null;
    // bound relations may describe DDL that was rolled back
    this.#specs.clear();
    for (const [k, v] of readTableSpecs(this.#db)) this.#specs.set(k, v);
    this.#stmts.clear();
  }

  #begin(): void {
    if (!this.#db.inTransaction) this.#db.exec('BEGIN');
  }

  #commit(commitLsn: bigint): string | null | Promise<string | null> {
    const skipped = this.#skip;
    const ops = this.#ops;
    this.#ops = undefined;
    this.#txLsn = null;
    this.#skip = false;
    if (skipped) return null;
    if (!this.#db.inTransaction) {
      // nothing of ours changed; remember the position without writing it
      this.#lsn = commitLsn;
      return null;
    }
    const version = lsnToVersion(commitLsn);
    if (!this.#sink || !ops) return this.#commitReplica(commitLsn, version);
    // The change log gets the transaction before the replica does, so that a crash between
    // the two re-streams it from the slot (stored again as a no-op) instead of losing it.
    const generation = this.#generation;
    return this.#sink.append(version, ops, this.#log.hasReset).then(() => {
      if (generation !== this.#generation) {
        throw new Error('the transaction was aborted while the change log stored it');
      }
      const v = this.#commitReplica(commitLsn, version);
      this.#sink!.committed(v);
      return v;
    });
  }

  #commitReplica(commitLsn: bigint, version: string): string {
    this.#log.flush(this.#insertLog, version);
    this.#writeState.run(version, formatLsn(commitLsn));
    this.#db.exec('COMMIT');
    this.#lsn = commitLsn;
    this.#version = version;
    return version;
  }

  async #bindAll(rels: readonly Relation[]): Promise<void> {
    for (const rel of rels) {
      if (!this.#bound.has(rel)) {
        this.#begin();
        this.#bound.set(rel, await this.#bind(rel));
      }
    }
  }

  /** Reconciles the replica with a relation message and prepares its converters. */
  async #bind(upstreamRel: Relation): Promise<Bound | null> {
    const mapped = replicaTableName(upstreamRel.schema, upstreamRel.name, this.#internalSchema);
    if (mapped === null) return null;
    const rel = mapped === upstreamRel.name ? upstreamRel : {...upstreamRel, name: mapped};
    const cols = rel.columns.map(c => ({
      name: c.name,
      pgType: this.#typeNames.get(c.typeOid) ?? 'text',
    }));
    let spec: (TableSpec & {upstreamOid: number}) | undefined = this.#specs.get(rel.name);
    if (!spec) {
      for (const s of this.#specs.values()) {
        if (s.upstreamOid === rel.oid) {
          spec = this.#rename(s, rel.name);
          break;
        }
      }
    }
    if (!spec) {
      const described = await this.#backfill.describe(rel.name);
      const primaryKey =
        described?.primaryKey ??
        (rel.replicaIdentity === 'd' ? rel.columns.filter(c => c.isKey).map(c => c.name) : []);
      if (primaryKey.length === 0) {
        if (!this.#refused.has(rel.name)) {
          this.#refused.add(rel.name);
          this.#lc.warn('table has no primary key; it is left out of the replica', {
            table: rel.name,
          });
        }
        return null;
      }
      const t: UpstreamTable = {
        oid: rel.oid,
        name: rel.name,
        source: `${quoteIdent(upstreamRel.schema)}.${quoteIdent(upstreamRel.name)}`,
        columns: cols,
        primaryKey,
      };
      this.#createTable(t);
      this.#log.table(rel.name, 'reset');
      this.#lc.info('new upstream table added to the replica', {table: rel.name});
      if (described) {
        await this.#backfill.rows({...t, columns: described.columns});
        // index only the columns the replica table has (the relation's)
        const indexes = createReplicaIndexes(this.#db, {...t, indexes: described.indexes ?? []});
        if (indexes.length > 0) {
          this.#lc.info('created replica indexes', {table: rel.name, indexes: indexes.join(', ')});
        }
      }
      spec = this.#specs.get(rel.name)!;
    } else if (!sameShape(spec, cols)) {
      spec = await this.#alter(spec, rel, cols);
    }
    const names = cols.map(c => c.name);
    const keyIdx = spec.primaryKey.map(k => names.indexOf(k));
    if (keyIdx.some(i => i < 0)) {
      this.#lc.warn('a primary-key column is missing upstream; table left as is', {
        table: rel.name,
      });
      return null;
    }
    return {
      spec,
      table: spec.name,
      names,
      convert: cols.map(c => streamConverter(c.pgType)),
      keyIdx,
      keyKinds: spec.primaryKey.map(k => spec.columns[k]!.kind),
    };
  }

  #createTable(t: UpstreamTable): void {
    const defs = t.columns.map(c => `${quoteIdent(c.name)} ${sqliteTypeOf(c.pgType)}`);
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(t.name)} (${defs.join(', ')}, PRIMARY KEY (${t.primaryKey
        .map(quoteIdent)
        .join(', ')}))`,
    );
    const spec = writeTableMetadata(this.#db, t.name, t.oid, t.columns, t.primaryKey);
    this.#specs.set(t.name, {...spec, upstreamOid: t.oid});
  }

  #rename(s: TableSpec & {upstreamOid: number}, to: string): TableSpec & {upstreamOid: number} {
    this.#db.exec(`ALTER TABLE ${quoteIdent(s.name)} RENAME TO ${quoteIdent(to)}`);
    dropTableMetadata(this.#db, s.name);
    const cols = Object.entries(s.columns).map(([name, c]) => ({name, pgType: c.pgType}));
    const spec = {
      ...writeTableMetadata(this.#db, to, s.upstreamOid, cols, s.primaryKey),
      upstreamOid: s.upstreamOid,
    };
    this.#specs.delete(s.name);
    this.#specs.set(to, spec);
    this.#log.table(s.name, 'reset');
    this.#log.table(to, 'reset');
    this.#stmts.clear();
    this.#lc.info('upstream table renamed', {from: s.name, to});
    return spec;
  }

  async #alter(
    spec: TableSpec & {upstreamOid: number},
    rel: Relation,
    cols: {name: string; pgType: string}[],
  ): Promise<TableSpec & {upstreamOid: number}> {
    const t = quoteIdent(spec.name);
    const newNames = new Set(cols.map(c => c.name));
    for (const old of Object.keys(spec.columns)) {
      if (!newNames.has(old) && !spec.primaryKey.includes(old)) {
        // SQLite refuses to drop an indexed column: drop the mirrored indexes on it first
        for (const idx of indexesOn(this.#db, spec.name, old)) {
          this.#db.exec(`DROP INDEX ${quoteIdent(idx)}`);
        }
        this.#db.exec(`ALTER TABLE ${t} DROP COLUMN ${quoteIdent(old)}`);
      }
    }
    const added: string[] = [];
    for (const c of cols) {
      if (!(c.name in spec.columns)) {
        this.#db.exec(
          `ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c.name)} ${sqliteTypeOf(c.pgType)}`,
        );
        added.push(c.name);
      }
    }
    const next = {
      ...writeTableMetadata(this.#db, spec.name, rel.oid, cols, spec.primaryKey),
      upstreamOid: rel.oid,
    };
    this.#specs.set(spec.name, next);
    this.#stmts.clear();
    this.#log.table(spec.name, 'reset');
    this.#lc.info('upstream table changed shape', {table: spec.name, added: added.length});
    if (added.length > 0) {
      const described = await this.#backfill.describe(spec.name);
      const stillThere = described
        ? added.filter(a => described.columns.some(c => c.name === a))
        : [];
      if (described && stillThere.length > 0) await this.#backfill.columns(described, stillThere);
    }
    return next;
  }

  #apply(msg: PgOutputMessage): void {
    this.#begin();
    switch (msg.tag) {
      case 'insert': {
        const b = this.#bound.get(msg.relation);
        if (!b) return;
        const values = this.#values(b, msg.row);
        this.#stmt(`ins:${b.table}`, () => upsertSql(b)).run(values);
        this.#log.row(b.table, 'set', keyJson(b.keyKinds, values, b.keyIdx));
        this.#ops?.push({op: 'set', table: b.table, columns: b.names, values});
        return;
      }
      case 'update': {
        const b = this.#bound.get(msg.relation);
        if (!b) return;
        this.#update(b, msg.old, msg.row);
        return;
      }
      case 'delete': {
        const b = this.#bound.get(msg.relation);
        if (!b) return;
        const key = b.keyIdx.map(i => convert(b, i, msg.old[i]!));
        this.#stmt(`del:${b.table}`, () => deleteSql(b)).run(key);
        this.#log.row(b.table, 'del', keyJson(b.keyKinds, key));
        this.#ops?.push({op: 'del', table: b.table, columns: b.spec.primaryKey, values: key});
        return;
      }
      case 'truncate':
        for (const rel of msg.relations) {
          const b = this.#bound.get(rel);
          if (!b) continue;
          this.#db.exec(`DELETE FROM ${quoteIdent(b.table)}`);
          this.#log.table(b.table, 'truncate');
          this.#ops?.push({op: 'truncate', table: b.table});
        }
        return;
      default:
        return;
    }
  }

  #update(b: Bound, old: TupleValue[] | null, row: TupleValue[]): void {
    const values = this.#values(b, row);
    const newKey: SqliteValue[] = b.keyIdx.map(i => values[i] ?? null);
    let oldKey = newKey;
    if (old) {
      const k = b.keyIdx.map(i => old[i]);
      if (k.every(v => v !== null && v !== UNCHANGED_TOAST)) {
        oldKey = b.keyIdx.map(i => convert(b, i, old[i]!));
      }
    }
    const keyChanged = oldKey.some((v, i) => v !== newKey[i]);
    const toast = row.reduce<number[]>(
      (acc, v, i) => (v === UNCHANGED_TOAST ? [...acc, i] : acc),
      [],
    );
    if (toast.length > 0) {
      // keep the replica's current value of unchanged TOASTed columns
      const cur = this.#stmt(
        `sel:${b.table}:${toast.join(',')}`,
        () =>
          `SELECT ${toast.map(i => quoteIdent(b.names[i]!)).join(', ')} FROM ${quoteIdent(b.table)} WHERE ${whereKey(b)}`,
      )
        .raw(true)
        .get(oldKey) as SqliteValue[] | undefined;
      toast.forEach((i, j) => (values[i] = cur ? cur[j]! : null));
    }
    if (keyChanged) {
      this.#stmt(`del:${b.table}`, () => deleteSql(b)).run(oldKey);
      this.#log.row(b.table, 'del', keyJson(b.keyKinds, oldKey));
      this.#ops?.push({op: 'del', table: b.table, columns: b.spec.primaryKey, values: oldKey});
    }
    this.#stmt(`ins:${b.table}`, () => upsertSql(b)).run(values);
    this.#log.row(b.table, 'set', keyJson(b.keyKinds, newKey));
    this.#ops?.push({op: 'set', table: b.table, columns: b.names, values});
  }

  #values(b: Bound, row: TupleValue[]): SqliteValue[] {
    const out: SqliteValue[] = new Array<SqliteValue>(b.names.length);
    for (let i = 0; i < out.length; i++) {
      const v = row[i];
      out[i] =
        v === null || v === undefined ? null : v === UNCHANGED_TOAST ? null : b.convert[i]!(v);
    }
    // mark TOAST positions for the caller
    return out;
  }

  #stmt(id: string, sql: () => string): Database.Statement {
    let s = this.#stmts.get(id);
    if (!s) {
      s = this.#db.prepare(sql());
      this.#stmts.set(id, s);
    }
    return s;
  }
}

/** Names of the explicitly created indexes of `table` that include `column`. */
function indexesOn(db: DB, table: string, column: string): string[] {
  const list = db.pragma(`index_list(${quoteIdent(table)})`) as {name: string; origin: string}[];
  return list
    .filter(i => i.origin === 'c')
    .filter(i =>
      (db.pragma(`index_info(${quoteIdent(i.name)})`) as {name: string | null}[]).some(
        c => c.name === column,
      ),
    )
    .map(i => i.name);
}

function convert(b: Bound, i: number, v: TupleValue): SqliteValue {
  return v === null || v === UNCHANGED_TOAST ? null : b.convert[i]!(v);
}

function sameShape(spec: TableSpec, cols: {name: string; pgType: string}[]): boolean {
  const names = Object.keys(spec.columns);
  return (
    names.length === cols.length &&
    cols.every((c, i) => names[i] === c.name && spec.columns[c.name]!.pgType === c.pgType)
  );
}

function upsertSql(b: Bound): string {
  return `INSERT OR REPLACE INTO ${quoteIdent(b.table)} (${b.names.map(quoteIdent).join(', ')}) VALUES (${b.names
    .map(() => '?')
    .join(', ')})`;
}

function whereKey(b: Bound): string {
  return b.spec.primaryKey.map(k => `${quoteIdent(k)} = ?`).join(' AND ');
}

function deleteSql(b: Bound): string {
  return `DELETE FROM ${quoteIdent(b.table)} WHERE ${whereKey(b)}`;
}

/**
 * The change log's key: a JSON array of primary-key values (int8 digits kept exact).
 * `keyKinds` are the key columns' kinds in key order; `values` holds the key values in
 * that order, or, with `idx`, a whole row whose key values are at `idx`.
 */
export function keyJson(
  keyKinds: readonly string[],
  values: readonly SqliteValue[],
  idx?: readonly number[],
): string {
  const parts = keyKinds.map((kind, j) => {
    const v = idx ? values[idx[j]!]! : values[j]!;
    if (v === null) return 'null';
    if (kind === 'boolean') return v === 1 ? 'true' : 'false';
    if (kind === 'json') return String(v);
    if (typeof v === 'string') return JSON.stringify(v);
    return String(v);
  });
  return `[${parts.join(',')}]`;
}
