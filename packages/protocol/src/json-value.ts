import * as v from 'valibot';
import type {ReadonlyJSONValue} from '@zync/shared';

/** Any JSON value. Frames are parsed with JSON.parse, so only the shape needs checking here. */
export const jsonValueSchema = v.custom<ReadonlyJSONValue>(
  value => value !== undefined && typeof value !== 'function',
  'Expected a JSON value',
);

/** A row: an object of column name to JSON value. */
export const rowSchema = v.record(v.string(), jsonValueSchema);
export type RowValue = v.InferOutput<typeof rowSchema>;
