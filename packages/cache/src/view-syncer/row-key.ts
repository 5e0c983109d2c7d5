import type {RowValue} from '@zync/protocol';

/**
 * A string naming one row of one table, independent of the order of the id's columns:
 * the table, then each key value in column-name order; the table and string values are
 * length-prefixed so that 1 and '1' (or values containing a separator) cannot collide.
 * (Postgres stores these keys, so they must not contain NUL.) Computed for every row a
 * query holds, so single-column keys take a path without sorting or allocation.
 */
export function rowKey(table: string, id: RowValue): string {
  let n = 0;
  let only = '';
  for (const c in id) {
    only = c;
    if (++n > 1) break;
  }
  const head = table.length + ':' + table + '/';
  if (n === 1) return head + keyPart(id[only]);
  let s = head;
  for (const c of Object.keys(id).sort()) s += keyPart(id[c]) + ',';
  return s;
}

function keyPart(v: unknown): string {
  return typeof v === 'string' ? 's' + v.length + ':' + v : (JSON.stringify(v) ?? 'null');
}
