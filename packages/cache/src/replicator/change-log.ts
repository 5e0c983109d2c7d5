// Collects one change-log entry per changed row key within an upstream transaction.
import type Database from 'better-sqlite3';

export type ChangeOp = 'set' | 'del' | 'truncate' | 'reset';

export class TxChangeLog {
  readonly #entries = new Map<string, {tbl: string; op: ChangeOp; key: string | null}>();
  #reset = false;

  row(tbl: string, op: 'set' | 'del', key: string): void {
    const id = `${tbl}\u0000${key}`;
    // a later op on the same key within the transaction replaces the earlier one
    this.#entries.delete(id);
    this.#entries.set(id, {tbl, op, key});
  }

  table(tbl: string, op: 'truncate' | 'reset'): void {
    const id = `${tbl}\u0001${op}`;
    if (op === 'reset') this.#reset = true;
    this.#entries.delete(id);
    this.#entries.set(id, {tbl, op, key: null});
  }

  /** Whether the transaction changed the replica's shape (a 'reset' entry). */
  get hasReset(): boolean {
    return this.#reset;
  }

  get size(): number {
    return this.#entries.size;
  }

  flush(insert: Database.Statement, version: string): void {
    let seq = 0;
    for (const e of this.#entries.values()) {
      insert.run(version, seq++, e.tbl, e.op, e.key);
    }
    this.clear();
  }

  clear(): void {
    this.#entries.clear();
    this.#reset = false;
  }
}
