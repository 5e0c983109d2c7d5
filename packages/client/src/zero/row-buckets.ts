// Where the client keeps the server's rows of each table: buckets of rows by a hash of the
// row key, and the hashing and key functions that place a row in its bucket.
import type {MemorySource, Row, Value} from '@zync/zql/ivm';

export const BUCKETS = 256;

/** The server's rows of one table by row key (a read-only view of its buckets). */
export interface ServerRows {
  readonly size: number;
  get(key: string): Row | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<Row>;
  entries(): IterableIterator<[string, Row]>;
}

/**
 * A row's entry in its bucket map: the primary key value itself when the key is one column
 * of a primitive value (no string to build and keep per row), else the key's JSON. (A
 * string value could meet the JSON of an object value only if one key column held both,
 * which column types rule out.)
 */
export type MapKey = string | number | boolean | null;

/**
 * One client table. Its server rows live only in their buckets (one map per bucket, by
 * `MapKey`); there is no map of all rows, so a row costs one map entry.
 */
export type TableState = {
  readonly table: string;
  readonly primaryKey: readonly string[];
  /** The primary key column when there is only one. */
  readonly pkCol: string | undefined;
  readonly src: MemorySource;
  /** `r/<table>/`, and the FNV-1a state after hashing it. */
  readonly keyPrefix: string;
  readonly prefixHash: number;
  readonly buckets: (Map<MapKey, Row> | undefined)[];
  /** Whether each bucket changed since it was last written (1) or not (0). */
  readonly touched: Uint8Array;
  /**
   * Whether each bucket holds rows this state did not build from a poke (1: rows read from
   * the store, or not plain JSON), which the memory store must check before keeping them.
   */
  readonly foreign: Uint8Array;
  readonly bucketKeys: (string | undefined)[];
  size: number;
};

/** JSON of a primary key value as an element of a JSON array (undefined → null). */
function keyPartJSON(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (v === undefined || v === null) return 'null';
  return JSON.stringify(v) ?? 'null';
}

/** `JSON.stringify` of the array of a row's primary key values (undefined → null). */
export function primaryKeyJSON(primaryKey: readonly string[], row: Row): string {
  if (primaryKey.length === 1) return `[${keyPartJSON(row[primaryKey[0]!])}]`;
  let s = '[';
  for (let i = 0; i < primaryKey.length; i++) {
    if (i > 0) s += ',';
    s += keyPartJSON(row[primaryKey[i]!]);
  }
  return s + ']';
}

export const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a (32 bits) continued from state `h` over `s`. */
export function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** The bucket of a row key, from the FNV-1a hash of the whole key. */
export function bucketIndex(hash: number): number {
  return (hash >>> 0) % BUCKETS;
}

const digits = new Uint8Array(16);

/**
 * FNV-1a of `r/<table>/` + `primaryKeyJSON` of `row`, without building that string for the
 * common keys (one integer or one string that JSON writes without escapes).
 */
export function rowHash(st: TableState, row: Row): number {
  if (st.pkCol !== undefined) {
    const v = row[st.pkCol];
    let h = st.prefixHash;
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      h = Math.imul(h ^ 0x5b, 0x01000193); // [
      let n = v;
      if (n < 0) {
        h = Math.imul(h ^ 0x2d, 0x01000193); // -
        n = -n;
      }
      let len = 0;
      do {
        const d = n % 10;
        digits[len++] = d;
        n = (n - d) / 10;
      } while (n > 0);
      while (len > 0) h = Math.imul(h ^ (0x30 + digits[--len]!), 0x01000193);
      return Math.imul(h ^ 0x5d, 0x01000193); // ]
    }
    if (typeof v === 'string') {
      h = Math.imul(Math.imul(h ^ 0x5b, 0x01000193) ^ 0x22, 0x01000193); // ["
      let plain = true;
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        // JSON escapes these (lone surrogates too; any surrogate takes the slow path).
        if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
          plain = false;
          break;
        }
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (plain) return Math.imul(Math.imul(h ^ 0x22, 0x01000193) ^ 0x5d, 0x01000193); // "]
    }
  }
  return fnv(st.prefixHash, primaryKeyJSON(st.primaryKey, row));
}

export function mapKeyOf(st: TableState, row: Row): MapKey {
  if (st.pkCol !== undefined) {
    const v = row[st.pkCol];
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        // JSON writes NaN and the infinities as null (and -0 as 0, as the map does).
        return Number.isFinite(v) ? v : null;
      case 'undefined':
        return null;
      default:
        if (v === null) return null;
    }
  }
  return primaryKeyJSON(st.primaryKey, row);
}

export class TableRows implements ServerRows {
  readonly #st: TableState;

  constructor(st: TableState) {
    this.#st = st;
  }

  get size(): number {
    return this.#st.size;
  }

  get(key: string): Row | undefined {
    const st = this.#st;
    if (!key.startsWith(st.keyPrefix)) return undefined;
    const pkJSON = key.slice(st.keyPrefix.length);
    let mapKey: MapKey = pkJSON;
    if (st.pkCol !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(pkJSON);
      } catch {
        return undefined;
      }
      if (!Array.isArray(parsed) || parsed.length !== 1) return undefined;
      const id: Row = {[st.pkCol]: parsed[0] as Value};
      // Only the key `keyOf` writes names the row (not `[1.0]` for `[1]`).
      if (primaryKeyJSON(st.primaryKey, id) !== pkJSON) return undefined;
      mapKey = mapKeyOf(st, id);
    }
    return st.buckets[bucketIndex(fnv(st.prefixHash, pkJSON))]?.get(mapKey);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  *entries(): IterableIterator<[string, Row]> {
    const st = this.#st;
    for (const b of st.buckets) {
      if (b)
        for (const row of b.values())
          yield [st.keyPrefix + primaryKeyJSON(st.primaryKey, row), row];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<Row> {
    for (const b of this.#st.buckets) if (b) yield* b.values();
  }
}
