import * as v from 'valibot';
import {jsonValueSchema} from './json-value.ts';

export const CRUD_MUTATION_NAME = '_zero_crud';

export const crudOpSchema = v.strictObject({
  op: v.picklist(['insert', 'upsert', 'update', 'delete']),
  /** Server table name. */
  table: v.string(),
  /** Server column names. For delete and update, must include the primary key. */
  value: v.record(v.string(), jsonValueSchema),
});
export type CrudOp = v.InferOutput<typeof crudOpSchema>;

export const mutationSchema = v.strictObject({
  type: v.picklist(['crud', 'custom']),
  id: v.pipe(v.number(), v.integer(), v.minValue(1)),
  clientID: v.pipe(v.string(), v.minLength(1)),
  /** For custom mutations `namespace.name`; for CRUD `_zero_crud`. */
  name: v.string(),
  /** For CRUD: `[{ops: CrudOp[]}]`; for custom: the mutator's arguments. */
  args: v.array(jsonValueSchema),
  timestamp: v.number(),
});
export type Mutation = v.InferOutput<typeof mutationSchema>;

export const pushBodySchema = v.strictObject({
  clientGroupID: v.string(),
  mutations: v.array(mutationSchema),
  requestID: v.string(),
});
export type PushBody = v.InferOutput<typeof pushBodySchema>;

export const mutationResultSchema = v.variant('type', [
  v.strictObject({type: v.literal('ok')}),
  v.strictObject({
    type: v.literal('error'),
    /** 'app': the mutator threw; 'zero': the server refused it (permissions, constraint, ...). */
    error: v.picklist(['app', 'zero']),
    message: v.string(),
    details: v.optional(jsonValueSchema),
  }),
  /**
   * The id had been processed by an earlier push (e.g. whose answer was lost); its outcome
   * went out then, if that answer got through. The client keeps an outcome it already has
   * for the id, and otherwise counts the mutation as a success.
   */
  v.strictObject({type: v.literal('alreadyProcessed')}),
]);
export type MutationResult = v.InferOutput<typeof mutationResultSchema>;

/** The outcome of every mutation of the push (a push that fails gets an `error` frame). */
export const pushResponseBodySchema = v.strictObject({
  mutations: v.array(
    v.strictObject({
      clientID: v.string(),
      id: v.number(),
      result: mutationResultSchema,
    }),
  ),
});
export type PushResponseBody = v.InferOutput<typeof pushResponseBodySchema>;
