// Poke rows in client form: server-named rows converted to the client's names and frozen,
// ready for LocalState to apply.
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Row, Value} from '@zync/zql/ivm';
import type {TableState} from './row-buckets.ts';

/** A row op of a poke part, in client names and frozen, waiting for its poke. */
export type PreparedRowOp =
  | {readonly op: 'clear'}
  | {readonly op: 'put'; readonly names: TableNames; readonly row: Row; readonly plain: boolean}
  | {readonly op: 'puts'; readonly names: TableNames; readonly rows: readonly Row[]}
  | {readonly op: 'del'; readonly names: TableNames; readonly id: Row};

export const CLEAR: PreparedRowOp = Object.freeze({op: 'clear'});

export type TableNames = {
  readonly state: TableState;
  /** [server column, client column], in client schema order. */
  readonly columns: readonly (readonly [string, string])[];
  /** Every column has the same name on both sides. */
  readonly sameNames: boolean;
};

/**
 * Freezes a JSON value from a parsed frame (held by nothing else) all the way down, and
 * says whether it is plain JSON: plain objects and arrays, strings, booleans, null and
 * finite numbers.
 */
export function freezeJSON(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  Object.freeze(v);
  const proto: unknown = Object.getPrototypeOf(v);
  let ok = Array.isArray(v) ? proto === Array.prototype : proto === Object.prototype;
  for (const k in v) {
    if (!freezeJSON((v as Record<string, unknown>)[k])) ok = false;
  }
  return ok;
}

/**
 * Converts a server-named row to the client's names, dropping unknown columns. A value that
 * already is exactly that row (same names, same columns in the same order, none undefined:
 * the usual case) is used as it is; it comes from a parsed frame that nothing else holds.
 * The caller freezes the row.
 */
export function toClientRow(
  names: TableNames,
  value: Readonly<Record<string, ReadonlyJSONValue>>,
): Row {
  const columns = names.columns;
  if (names.sameNames && hasExactly(value, columns)) return value as Row;
  const row: Record<string, Value> = {};
  for (let i = 0; i < columns.length; i++) {
    const [serverCol, clientCol] = columns[i]!;
    const v = value[serverCol];
    row[clientCol] = v === undefined ? null : (v as Value);
  }
  return row;
}

/**
 * The rows of a `puts` op in the client's names and column order (missing columns null,
 * others dropped), frozen. The values come from a parsed frame that nothing else holds, so
 * the rows are plain JSON (see freezeJSON).
 */
export function rowsFromValues(
  names: TableNames,
  columns: readonly string[],
  values: readonly (readonly ReadonlyJSONValue[])[],
): Row[] {
  const cols = names.columns;
  const at = cols.map(([server]) => columns.indexOf(server));
  const clientNames = cols.map(([, client]) => client);
  // An assignment to `__proto__` would set the prototype: define such a column instead.
  const define = clientNames.includes('__proto__');
  const out = new Array<Row>(values.length);
  for (let r = 0; r < values.length; r++) {
    const vs = values[r] as readonly ReadonlyJSONValue[];
    const row: Record<string, Value> = {};
    for (let i = 0; i < at.length; i++) {
      const k = at[i]!;
      const v = (k < 0 ? null : (vs[k] ?? null)) as Value;
      // What freezeJSON(row) would do, without walking the row again: a JSON column's
      // object or array is frozen all the way down.
      if (typeof v === 'object' && v !== null) freezeJSON(v);
      if (define) {
        Object.defineProperty(row, clientNames[i]!, {value: v, enumerable: true, writable: true});
      } else row[clientNames[i]!] = v;
    }
    out[r] = Object.freeze(row);
  }
  return out;
}

/** Whether `value` is a plain object whose keys are `columns`, in order, none undefined. */
function hasExactly(
  value: Readonly<Record<string, ReadonlyJSONValue>>,
  columns: readonly (readonly [string, string])[],
): boolean {
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  let i = 0;
  for (const k in value) {
    if (i === columns.length || k !== columns[i]![0] || value[k] === undefined) return false;
    i++;
  }
  return i === columns.length;
}
