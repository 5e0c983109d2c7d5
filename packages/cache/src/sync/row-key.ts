import type {RowValue} from '@zync/protocol';
import {stableStringify} from '@zync/shared';

/** A string naming one row of one table, independent of key column order. */
export function rowKey(table: string, id: RowValue): string {
  return stableStringify([table, id]);
}
