// Row values, their total order, and comparators built once per ordering.
import type {Ordering} from '@zync/protocol';

export type Value = string | number | boolean | null;
export type Row = Readonly<Record<string, Value>>;
export type PrimaryKey = readonly [string, ...string[]];
export type Comparator = (a: Row, b: Row) => number;

/**
 * Probe sentinels: stand for "below / above every value" when seeking in an index.
 * They only ever appear in probe rows built by sources, never in stored rows.
 */
export const LOW: Value = {low: true} as unknown as Value;
export const HIGH: Value = {high: true} as unknown as Value;

/**
 * The rank that orders values of different types: null < boolean < number < string. The SQL
 * compiler (zql/src/sql) decides mixed-type comparisons with it.
 */
export function typeRank(v: Value): number {
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return 0; // null
  }
}

const HIGH_UNIT = /[\ud800-\uffff]/;

/**
 * Orders two different strings by Unicode code point, as SQLite (BINARY on UTF-8) and
 * Postgres's C collation do. UTF-16 unit order only differs when a surrogate (an astral
 * character) meets a character in U+E000–U+FFFF at the first difference.
 */
export function compareStrings(a: string, b: string): number {
  // Only two strings that both hold a unit >= U+D800 can order differently; the native
  // comparison is right (and much faster) for everything else.
  if (!HIGH_UNIT.test(a) || !HIGH_UNIT.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      if (sa !== (cb >= 0xd800 && cb <= 0xdfff)) return sa ? 1 : -1;
      return ca < cb ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Total order used for sorting: null first, then booleans, numbers, strings (by code
 * point). Mixed types only meet in malformed data; they still order deterministically.
 */
export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'string') return compareStrings(a as string, b as string);
    return (a as number) < (b as number) ? -1 : 1;
  }
  return typeRank(a) - typeRank(b);
}

/**
 * A comparator over `ordering` (which must already end with the primary key). The
 * sentinels LOW/HIGH compare below/above everything regardless of direction.
 */
export function makeComparator(ordering: Ordering): Comparator {
  const cols = ordering.map(o => o[0]);
  const dirs = ordering.map(o => (o[1] === 'asc' ? 1 : -1));
  const n = cols.length;
  if (n === 1) {
    const c0 = cols[0] as string;
    const d0 = dirs[0] as number;
    return (a, b) => compareAt(a[c0] as Value, b[c0] as Value, d0);
  }
  if (n === 2) {
    const c0 = cols[0] as string;
    const d0 = dirs[0] as number;
    const c1 = cols[1] as string;
    const d1 = dirs[1] as number;
    return (a, b) =>
      compareAt(a[c0] as Value, b[c0] as Value, d0) ||
      compareAt(a[c1] as Value, b[c1] as Value, d1);
  }
  return (a, b) => {
    for (let i = 0; i < n; i++) {
      const col = cols[i] as string;
      const c = compareAt(a[col] as Value, b[col] as Value, dirs[i] as number);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** One column of a comparator: numbers and strings first (the common case), then the rest. */
function compareAt(va: Value, vb: Value, dir: number): number {
  if (va === vb) return 0;
  const ta = typeof va;
  if (ta === typeof vb) {
    if (ta === 'number') return (va as number) < (vb as number) ? -dir : dir;
    if (ta === 'string') return compareStrings(va as string, vb as string) * dir;
  }
  if (va === LOW || vb === HIGH) return -1;
  if (va === HIGH || vb === LOW) return 1;
  return compareValues(va, vb) * dir;
}

/** Appends the primary-key columns (ascending) that `ordering` does not already hold. */
export function completeOrdering(ordering: Ordering | undefined, pk: PrimaryKey): Ordering {
  const out: (readonly [string, 'asc' | 'desc'])[] = ordering ? [...ordering] : [];
  for (const col of pk) {
    if (!out.some(o => o[0] === col)) out.push([col, 'asc']);
  }
  return out;
}

export function valuesEqual(a: Value | undefined, b: Value | undefined): boolean {
  return a === b;
}

/** A stable string for a tuple of values (distinguishes 1 from '1'). */
export function tupleKey(row: Row, cols: readonly string[]): string {
  let s = '';
  for (const c of cols) {
    const v = row[c];
    s += (typeof v === 'string' ? 's' + v.length + ':' + v : String(v)) + '|';
  }
  return s;
}

export function rowKeyOf(row: Row, pk: PrimaryKey): string {
  return tupleKey(row, pk);
}

export function pick(row: Row, cols: readonly string[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}
