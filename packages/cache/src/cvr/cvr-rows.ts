// The row records of a CVR, found by table and id. Hydration looks up every row it sends,
// so a single-column id is looked up by its value in a map per table: no key string is
// built or hashed on that path. The persisted key (row-key.ts) is made only when a record
// is written.
import type {RowValue} from '@zync/protocol';
import type {CVRRow} from './cvr.ts';
import {rowKey} from '../view-syncer/row-key.ts';

/** The lookup key of an id within its table: the value itself for one column. */
function lookupKey(table: string, id: RowValue): unknown {
  let n = 0;
  let only = '';
  for (const c in id) {
    only = c;
    if (++n > 1) return rowKey(table, id);
  }
  // Map keys compare by SameValueZero, so 1 and '1' stay apart.
  return n === 1 ? id[only] : rowKey(table, id);
}

export class RowRecords {
  readonly #tables = new Map<string, Map<unknown, CVRRow>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(table: string, id: RowValue): CVRRow | undefined {
    return this.#tables.get(table)?.get(lookupKey(table, id));
  }

  /** Whether `rec` is the current record of its row. */
  holds(rec: CVRRow): boolean {
    return this.get(rec.table, rec.id) === rec;
  }

  /** Adds `rec`, replacing any record of the same row. */
  set(rec: CVRRow): void {
    let m = this.#tables.get(rec.table);
    if (!m) {
      m = new Map();
      this.#tables.set(rec.table, m);
    }
    const k = lookupKey(rec.table, rec.id);
    if (!m.has(k)) this.#size++;
    m.set(k, rec);
  }

  /** The record of a row, made by `create` if there is none. */
  getOrAdd(table: string, id: RowValue, create: () => CVRRow): CVRRow {
    let m = this.#tables.get(table);
    if (!m) {
      m = new Map();
      this.#tables.set(table, m);
    }
    const k = lookupKey(table, id);
    let rec = m.get(k);
    if (!rec) {
      rec = create();
      m.set(k, rec);
      this.#size++;
    }
    return rec;
  }

  delete(rec: CVRRow): void {
    const m = this.#tables.get(rec.table);
    const k = lookupKey(rec.table, rec.id);
    if (m?.get(k) !== rec) return;
    m.delete(k);
    this.#size--;
    if (m.size === 0) this.#tables.delete(rec.table);
  }

  *values(): IterableIterator<CVRRow> {
    for (const m of this.#tables.values()) yield* m.values();
  }
}
