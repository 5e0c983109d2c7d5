import type {ValueKind} from './pg-types.ts';

export interface ColumnSpec {
  readonly kind: ValueKind;
  readonly pgType: string;
}

/** The shape of one replicated table, as readers of the replica see it. */
export interface TableSpec {
  readonly name: string;
  /** Columns in upstream order. */
  readonly columns: Readonly<Record<string, ColumnSpec>>;
  readonly primaryKey: readonly string[];
}
