// The net change of every key a range of the change log names, read at both ends.
import type {Snap} from './snapshot-pool.ts';
import type {ChangeLogRange, NetRows} from './change-log.ts';
import type {SQLiteSource} from './sqlite-source.ts';
import type {StatementCache} from './statement-cache.ts';
import type {SourceChange} from '@zync/zql/ivm';

/** One change of one table, as sources take it. */
export type TableChange = {readonly table: string; readonly change: SourceChange};

/**
 * The changes of `range` for the tables in `sources`, reading each key at `from` and
 * `next` unless the range already holds its rows. Lazy: push each before pulling the next.
 */
export function* diffRange(
  sources: ReadonlyMap<string, SQLiteSource>,
  stmts: StatementCache,
  from: Snap,
  next: Snap,
  range: ChangeLogRange,
): Iterable<TableChange> {
  for (const {table, id, params} of range.entries) {
    const source = sources.get(table);
    if (!source) continue;
    let net = range.rows.get(id);
    if (!net || net.select !== source.selectList) {
      const sql = source.lookupSql;
      const old = stmts.get(from.db, sql, true).get(...params) as unknown[] | undefined;
      const now = stmts.get(next.db, sql, true).get(...params) as unknown[] | undefined;
      const same = old !== undefined && now !== undefined && sameValues(old, now);
      const fresh: NetRows = {select: source.selectList, old, now, same};
      if (!net) range.rows.set(id, fresh);
      net = fresh;
    }
    if (net.same) continue;
    const oldRow = net.old && source.fromValues(net.old);
    const row = net.now && source.fromValues(net.now);
    if (oldRow) source.remember(oldRow, oldRow);
    else if (row) source.remember(row, undefined);
    if (oldRow && row) yield {table, change: {type: 'edit', oldRow, row}};
    else if (oldRow) yield {table, change: {type: 'remove', row: oldRow}};
    else if (row) yield {table, change: {type: 'add', row}};
  }
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
