// Turns a query AST into an operator graph over Sources:
//   connection(ordering, pushed filter) → Join(EXISTS)* → Filter → Skip(start) → Take(limit)
//   → Join(related)*
// EXISTS joins come before the limit (the limit counts matching rows); related joins come
// after it (only rows in the window get children).
import type {AST, Condition, ExistsCondition} from '@zync/protocol';
import {unreachable} from '@zync/shared';
import type {Batcher} from './batcher.ts';
import {splitCondition} from './condition.ts';
import {Filter} from './filter.ts';
import {Join} from './join.ts';
import type {Input} from './operator.ts';
import {Metered, type RowMeter} from './metered.ts';
import {RowSetOutput, type RowSetOptions} from './row-set.ts';
import {Skip} from './skip.ts';
import type {Source} from './source.ts';
import {Take} from './take.ts';
import {ArrayView} from './view.ts';

export type PipelineContext = {
  getSource(tableName: string): Source | undefined;
  /** Called for every row a source connection of the pipeline fetches (see Metered). */
  readonly meter?: RowMeter | undefined;
};

export function buildPipeline(ast: AST, ctx: PipelineContext): Input {
  return buildLevel(ast, ctx, []);
}

/** Builds the pipeline and materializes it as a view of `ast`. */
export function materialize(
  ast: AST,
  ctx: PipelineContext,
  options: {readonly batcher?: Batcher | undefined} = {},
): ArrayView {
  return new ArrayView(buildPipeline(ast, ctx), {
    singular: ast.one === true,
    batcher: options.batcher,
  });
}

/** Builds the pipeline and tracks the set of rows the query needs (for the server). */
export function buildRowSet(
  ast: AST,
  ctx: PipelineContext,
  options: RowSetOptions = {},
): RowSetOutput {
  return new RowSetOutput(buildPipeline(ast, ctx), options);
}

export function effectiveLimit(ast: AST): number | undefined {
  if (ast.one) return Math.min(ast.limit ?? 1, 1);
  return ast.limit;
}

function collectExists(cond: Condition | undefined, out: ExistsCondition[]): void {
  if (!cond) return;
  switch (cond.kind) {
    case 'simple':
      return;
    case 'and':
    case 'or':
      for (const c of cond.conditions) collectExists(c, out);
      return;
    case 'exists':
      out.push(cond);
      return;
    default:
      unreachable(cond);
  }
}

function buildLevel(ast: AST, ctx: PipelineContext, partitionKey: readonly string[]): Input {
  const source = ctx.getSource(ast.table);
  if (!source) throw new TypeError(`Unknown table: ${ast.table}`);
  const {pushed, rest} = splitCondition(ast.where);
  const exists: ExistsCondition[] = [];
  collectExists(rest, exists);
  const related = ast.related ?? [];
  const splitEditKeys = new Set<string>(partitionKey);
  for (const e of exists) for (const f of e.related.correlation.parentField) splitEditKeys.add(f);
  for (const r of related) for (const f of r.correlation.parentField) splitEditKeys.add(f);

  let input: Input = source.connect(ast.orderBy ?? [], {
    filter: pushed,
    splitEditKeys: [...splitEditKeys],
  });
  if (ctx.meter) input = new Metered(input, ctx.meter);

  const existsNames = new Map<ExistsCondition, string>();
  exists.forEach((e, i) => {
    const name = `zsubq_${i}_${e.related.subquery.alias ?? e.related.subquery.table}`;
    existsNames.set(e, name);
    input = new Join({
      parent: input,
      child: buildLevel(e.related.subquery, ctx, e.related.correlation.childField),
      parentKey: e.related.correlation.parentField,
      childKey: e.related.correlation.childField,
      relationshipName: name,
      hidden: false,
      internal: true,
      singular: false,
      serverOnly: e.related.serverOnly === true,
    });
  });
  if (rest) {
    input = new Filter(input, rest, c => existsNames.get(c) as string);
  }
  if (ast.start) input = new Skip(input, ast.start);
  const limit = effectiveLimit(ast);
  if (limit !== undefined) input = new Take(input, limit, partitionKey);

  for (const r of related) {
    input = new Join({
      parent: input,
      child: buildLevel(r.subquery, ctx, r.correlation.childField),
      parentKey: r.correlation.parentField,
      childKey: r.correlation.childField,
      relationshipName: r.subquery.alias ?? r.subquery.table,
      hidden: r.hidden === true,
      internal: false,
      singular: r.subquery.one === true,
    });
  }
  return input;
}
