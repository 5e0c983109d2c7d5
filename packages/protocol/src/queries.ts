import * as v from 'valibot';
import {astSchema} from './ast.ts';
import {jsonValueSchema} from './json-value.ts';

/**
 * A query a client wants. Either an ad-hoc AST (in server names), or a synced query named
 * by the app and resolved by its API server from `name` and `args`.
 */
export const queryPutSchema = v.strictObject({
  op: v.literal('put'),
  hash: v.string(),
  ast: v.optional(astSchema),
  name: v.optional(v.string()),
  args: v.optional(v.array(jsonValueSchema)),
  /** How long the server keeps the query after no client wants it, in ms. */
  ttlMs: v.optional(v.pipe(v.number(), v.minValue(0))),
});
export const queryDelSchema = v.strictObject({op: v.literal('del'), hash: v.string()});
export const queryClearSchema = v.strictObject({op: v.literal('clear')});

export const queryPatchOpSchema = v.variant('op', [
  queryPutSchema,
  queryDelSchema,
  queryClearSchema,
]);
export const queryPatchSchema = v.array(queryPatchOpSchema);
export type QueryPatchOp = v.InferOutput<typeof queryPatchOpSchema>;
export type QueryPatch = v.InferOutput<typeof queryPatchSchema>;

/** `changeDesiredQueries`: the client adds or removes queries it wants. */
export const changeDesiredQueriesBodySchema = v.strictObject({patch: queryPatchSchema});
export type ChangeDesiredQueriesBody = v.InferOutput<typeof changeDesiredQueriesBodySchema>;
