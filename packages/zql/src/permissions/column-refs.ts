// Every column a query reads to decide which rows it returns or in what order: compared in
// a filter, ordered by, used as a start cursor, or joined on (relationship and EXISTS
// correlations). Cell select rules use it: a column a user may not see must not be read
// by their query at all, or its values leak through which rows come back.
import type {AST, Condition, CorrelatedSubquery} from '@zync/protocol';

export type ColumnReference = {readonly table: string; readonly column: string};

/** The columns `ast` reads at any level (root, related, EXISTS, junction hops), deduplicated. */
export function columnReferences(ast: AST): ColumnReference[] {
  const seen = new Map<string, ColumnReference>();
  const add = (table: string, column: string) => {
    const key = `${table}\u0000${column}`;
    if (!seen.has(key)) seen.set(key, {table, column});
  };
  walkAST(ast, add);
  return [...seen.values()];
}

type Add = (table: string, column: string) => void;

function walkAST(ast: AST, add: Add): void {
  if (ast.where) walkCondition(ast.table, ast.where, add);
  for (const [column] of ast.orderBy ?? []) add(ast.table, column);
  for (const column of Object.keys(ast.start?.row ?? {})) add(ast.table, column);
  for (const r of ast.related ?? []) walkCorrelated(ast.table, r, add);
}

function walkCorrelated(parent: string, c: CorrelatedSubquery, add: Add): void {
  for (const column of c.correlation.parentField) add(parent, column);
  for (const column of c.correlation.childField) add(c.subquery.table, column);
  walkAST(c.subquery, add);
}

function walkCondition(table: string, c: Condition, add: Add): void {
  switch (c.kind) {
    case 'simple':
      if (c.left.kind === 'column') add(table, c.left.name);
      if (c.right.kind === 'column') add(table, c.right.name);
      return;
    case 'and':
    case 'or':
      for (const x of c.conditions) walkCondition(table, x, add);
      return;
    case 'exists':
      walkCorrelated(table, c.related, add);
      return;
  }
}
