// Upstream tables (as @zync/pg's catalog describes them, server names) for zql's SQL
// compiler: each column as the comparable value clients and permission rules see (times
// as epoch ms, int8 / numeric / real as float8, arrays and json as jsonb).
import {kindOfType, type PgTable} from '@zync/pg';
import {postgresColumn, type SqlTable} from '@zync/zql/sql';
import {quoteIdent} from '@zync/shared';

export function sqlTable(table: PgTable): SqlTable {
  const columns = [...table.columns.keys()];
  const ref = (alias: string, name: string) => `${alias}.${quoteIdent(name)}`;
  return {
    from: table.sqlName,
    primaryKey: (table.primaryKey.length ? table.primaryKey : columns) as [string, ...string[]],
    columns,
    column(alias, name) {
      const col = table.columns.get(name);
      return col && postgresColumn(ref(alias, name), col.typname, kindOfType(col.typname));
    },
    read: ref,
    readJson: ref,
  };
}
