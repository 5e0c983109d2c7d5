// Row values of a SQLite source: primary-key strings and raw values turned into engine rows.
import {fromReplicaValue} from '../replica/open-replica.ts';
import type {TableSpec} from '../replica/table-spec.ts';
import type {Row} from '@zync/zql/ivm';

/** A stable string for a row's primary key (distinguishes 1 from '1'). */
export function keyOf(row: Row, pk: readonly string[]): string {
  let s = '';
  for (const c of pk) {
    const v = row[c];
    s += (typeof v === 'string' ? 's' + v.length + ':' + v : String(v)) + '|';
  }
  return s;
}

/**
 * Builds the function that turns one row read in raw mode (values in spec column order)
 * into engine values, as `fromReplicaValue` does: 0/1 → booleans, JSON text → values; TEXT
 * and REAL/INTEGER affinity columns already hold strings and numbers.
 *
 * Raw arrays plus one object literal per row cost about half of what better-sqlite3's own
 * row objects do (it defines every property of every row one by one), so the builder is
 * generated once per table: the literal gives V8 one fixed shape for all rows.
 */
export function rowBuilder(spec: TableSpec): (values: readonly unknown[]) => Row {
  const names = Object.keys(spec.columns);
  const kinds = names.map(n => spec.columns[n]!.kind);
  const json = (v: unknown) => fromReplicaValue('json', v);
  if (names.includes('__proto__')) {
    // An object literal would set the prototype instead; define the property instead.
    return values =>
      Object.fromEntries(
        names.map((n, i) => {
          const v = values[i];
          const k = kinds[i];
          return [n, k === 'boolean' || k === 'json' ? fromReplicaValue(k, v) : v];
        }),
      ) as Row;
  }
  const props = names.map((n, i) => {
    const v = `v[${i}]`;
    switch (kinds[i]) {
      case 'boolean':
        return `${JSON.stringify(n)}: ${v} === null ? null : ${v} === 1`;
      case 'json':
        return `${JSON.stringify(n)}: ${v} === null ? null : json(${v})`;
      default:
        return `${JSON.stringify(n)}: ${v}`;
    }
  });
  // The source text holds only quoted column names and fixed expressions.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('json', `return v => ({${props.join(', ')}});`) as (
    j: typeof json,
  ) => (values: readonly unknown[]) => Row;
  return make(json);
}
