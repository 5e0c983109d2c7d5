import * as v from 'valibot';
import {jsonValueSchema, rowSchema} from './json-value.ts';

export const rowPutSchema = v.strictObject({
  op: v.literal('put'),
  table: v.string(),
  value: rowSchema,
});
export const rowDelSchema = v.strictObject({
  op: v.literal('del'),
  table: v.string(),
  /** The primary key columns and values of the row to delete. */
  id: rowSchema,
});
/**
 * Several rows of one table: `values` holds one array per row, with a value for each of
 * `columns`, in order. The same as a `put` of each row, without repeating the column names
 * (a large hydration is a third of the size, and much cheaper to encode and parse).
 */
export const rowPutsSchema = v.pipe(
  v.strictObject({
    op: v.literal('puts'),
    table: v.string(),
    columns: v.array(v.string()),
    values: v.array(v.array(jsonValueSchema)),
  }),
  v.check(
    p => new Set(p.columns).size === p.columns.length,
    'Expected column names without duplicates',
  ),
  v.check(
    p => p.values.every(r => r.length === p.columns.length),
    'Expected one value per column in each row',
  ),
);
/** Delete every row the client has: sent first in a poke that resets the client. */
export const rowClearSchema = v.strictObject({op: v.literal('clear')});
export const rowPatchOpSchema = v.variant('op', [
  rowPutSchema,
  rowPutsSchema,
  rowDelSchema,
  rowClearSchema,
]);
export type RowPatchOp = v.InferOutput<typeof rowPatchOpSchema>;

export const queryErrorSchema = v.strictObject({
  hash: v.string(),
  kind: v.picklist(['unknown-query', 'bad-args', 'refused', 'transform-failed', 'internal']),
  message: v.string(),
  details: v.optional(jsonValueSchema),
});
export type QueryError = v.InferOutput<typeof queryErrorSchema>;

/**
 * A poke moves the client from `baseVersion` to `version` atomically: the client applies
 * all of it or none of it.
 */
export const pokeBodySchema = v.strictObject({
  pokeID: v.string(),
  /** The version this poke applies on top of; null when it resets the client. */
  baseVersion: v.nullable(v.string()),
  version: v.string(),
  rows: v.array(rowPatchOpSchema),
  /** Queries whose complete result is now included ('put') or no longer held ('del'). */
  gotQueries: v.array(
    v.variant('op', [
      v.strictObject({op: v.literal('put'), hash: v.string()}),
      v.strictObject({op: v.literal('del'), hash: v.string()}),
      v.strictObject({op: v.literal('clear')}),
    ]),
  ),
  /** Per-client last mutation ids that advanced with this poke. */
  lastMutationIDChanges: v.record(v.string(), v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** Queries that failed (e.g. a synced query the API server could not resolve). */
  queryErrors: v.optional(v.array(queryErrorSchema)),
});
export type PokeBody = v.InferOutput<typeof pokeBodySchema>;

/**
 * The first rows of a large poke, sent ahead of it so that the client can decode them while
 * the server still works on the rest. Parts are not applied on their own: the `poke` with
 * the same `pokeID` that follows applies the parts' rows, in order, before its own rows,
 * all in one transaction. Parts of a poke that never arrives (the connection closed) are
 * dropped.
 */
export const pokePartBodySchema = v.strictObject({
  pokeID: v.string(),
  rows: v.array(rowPatchOpSchema),
});
export type PokePartBody = v.InferOutput<typeof pokePartBodySchema>;
