// Test double of the replica: tables in memory, a versioned change log, and "advanced"
// notifications. Drivers read it at a version of their own and catch up from the log.
import type {RowValue} from '@zync/protocol';
import {stableStringify} from '@zync/shared';
import type {ReplicaNotifier} from '../../src/view-syncer/query-driver.ts';

export type TableSpec = {readonly primaryKey: readonly string[]; readonly rows?: RowValue[]};

export type ReplicaChange =
  | {readonly type: 'add'; readonly table: string; readonly row: RowValue}
  | {readonly type: 'remove'; readonly table: string; readonly row: RowValue}
  | {
      readonly type: 'edit';
      readonly table: string;
      readonly oldRow: RowValue;
      readonly row: RowValue;
    };

type Entry = {readonly version: string; readonly change: ReplicaChange};

function versionString(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export class MemoryReplica implements ReplicaNotifier {
  readonly primaryKeys = new Map<string, readonly string[]>();
  readonly #tables = new Map<string, Map<string, RowValue>>();
  readonly #log: Entry[] = [];
  readonly #listeners = new Set<(version: string) => void>();
  #staged: ReplicaChange[] = [];
  #counter = 1;

  constructor(tables: Readonly<Record<string, TableSpec>>) {
    for (const [name, spec] of Object.entries(tables)) {
      this.primaryKeys.set(name, spec.primaryKey);
      const m = new Map<string, RowValue>();
      for (const row of spec.rows ?? []) m.set(this.#key(name, row), row);
      this.#tables.set(name, m);
    }
  }

  get version(): string {
    return versionString(this.#counter);
  }

  #key(table: string, row: RowValue): string {
    const pk = this.primaryKeys.get(table);
    if (!pk) throw new TypeError(`Unknown table ${table}`);
    return stableStringify(pk.map(c => row[c] ?? null));
  }

  idOf(table: string, row: RowValue): RowValue {
    const pk = this.primaryKeys.get(table) ?? [];
    return Object.fromEntries(pk.map(c => [c, row[c] ?? null]));
  }

  /** Every table's rows as of now. */
  snapshot(): Map<string, Map<string, RowValue>> {
    return new Map([...this.#tables].map(([t, m]) => [t, new Map(m)]));
  }

  rows(table: string): RowValue[] {
    return [...(this.#tables.get(table)?.values() ?? [])];
  }

  /** Stages a change (upsert or delete); `commit` makes them one new version. */
  put(table: string, row: RowValue): this {
    const m = this.#tables.get(table);
    if (!m) throw new TypeError(`Unknown table ${table}`);
    const key = this.#key(table, row);
    const old = m.get(key);
    m.set(key, row);
    this.#staged.push(old ? {type: 'edit', table, oldRow: old, row} : {type: 'add', table, row});
    return this;
  }

  del(table: string, id: RowValue): this {
    const m = this.#tables.get(table);
    if (!m) throw new TypeError(`Unknown table ${table}`);
    const key = this.#key(table, id);
    const old = m.get(key);
    if (old) {
      m.delete(key);
      this.#staged.push({type: 'remove', table, row: old});
    }
    return this;
  }

  /** Commits the staged changes as one version and notifies subscribers. */
  commit(): string {
    this.#counter++;
    const version = this.version;
    for (const change of this.#staged) this.#log.push({version, change});
    this.#staged = [];
    for (const fn of [...this.#listeners]) fn(version);
    return version;
  }

  /** Changes committed after `version`, oldest first. */
  changesSince(version: string): ReplicaChange[] {
    return this.#log.filter(e => e.version > version).map(e => e.change);
  }

  subscribe(listener: (version: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
