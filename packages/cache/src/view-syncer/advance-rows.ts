// The CVR bookkeeping of an advance: each query's row changes become the step's row
// changes. A large transaction changes many rows; the step gives the event loop back every
// 1,024 rows once its slice is used up, like a hydration's bookkeeping (the group's queue
// keeps its other steps out meanwhile, so its clients still get one poke).
import type {RowValue} from '@zync/protocol';
import type {CellMasks} from './cell-masks.ts';
import type {CVR, CVRRow} from '../cvr/cvr.ts';
import type {CVRStep} from '../cvr/cvr-step.ts';
import type {QueryRowChange} from './query-driver.ts';
import {TimeSlice} from './time-slice.ts';

/** Rows recorded between two looks at the clock. */
const ROWS_PER_CLOCK_CHECK = 1024;

export async function recordAdvance(
  cvr: CVR,
  step: CVRStep,
  cells: CellMasks,
  changes: ReadonlyMap<string, readonly QueryRowChange[]>,
): Promise<void> {
  const slice = new TimeSlice();
  let n = 0;
  for (const [hash, list] of changes) {
    const q = cvr.state.queries.get(hash);
    if (!q || q.deleted || q.gotSeq === null) continue;
    for (const c of list) {
      if (c.type === 'add') recordRow(step, cells, hash, c);
      else if (c.type === 'edit') {
        const rec = cvr.state.rows.get(c.table, c.id);
        if (rec) step.editRow(c.table, c.id, cells.project(rec, c.row));
      } else step.removeRow(hash, c.table, c.id);
      if (++n % ROWS_PER_CLOCK_CHECK === 0) await slice.yield();
    }
  }
}

/** Adds a row a query needs, with the cells its clients may see. */
export function recordRow(
  step: CVRStep,
  cells: CellMasks,
  hash: string,
  r: {readonly table: string; readonly id: RowValue; readonly row: RowValue},
): CVRRow {
  const rec = step.addRow(hash, r.table, r.id, r.row);
  rec.pending = cells.project(rec, r.row);
  return rec;
}
