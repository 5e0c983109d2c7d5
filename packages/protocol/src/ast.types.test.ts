// The AST's types are written out (ast.ts says why); each must be exactly what its schema
// validates, so that the two cannot drift apart. A compile-time test: `npm run typecheck`
// fails on a difference, and the runtime test below checks the same values both ways.
import * as v from 'valibot';
import {expect, expectTypeOf, test} from 'vitest';
import {
  columnRefSchema,
  literalRefSchema,
  literalValueSchema,
  simpleOperatorSchema,
  type ColumnRef,
  type LiteralRef,
  type LiteralValue,
  type SimpleOperator,
} from './ast.ts';

test('each written-out type is the output of its schema', () => {
  expectTypeOf<v.InferOutput<typeof literalValueSchema>>().toEqualTypeOf<LiteralValue>();
  expectTypeOf<v.InferOutput<typeof simpleOperatorSchema>>().toEqualTypeOf<SimpleOperator>();
  expectTypeOf<v.InferOutput<typeof columnRefSchema>>().toEqualTypeOf<ColumnRef>();
  expectTypeOf<v.InferOutput<typeof literalRefSchema>>().toEqualTypeOf<LiteralRef>();
});

test('values of the written-out types pass their schemas', () => {
  const values: LiteralValue[] = ['a', 1, true, null, ['a', 1, false, null]];
  for (const value of values) expect(v.is(literalValueSchema, value)).toBe(true);
  expect(v.is(literalValueSchema, [['nested']])).toBe(false);
  const ref: LiteralRef = {kind: 'literal', value: [1, 2]};
  expect(v.is(literalRefSchema, ref)).toBe(true);
  const col: ColumnRef = {kind: 'column', name: 'id'};
  expect(v.is(columnRefSchema, col)).toBe(true);
  const op: SimpleOperator = 'NOT ILIKE';
  expect(v.is(simpleOperatorSchema, op)).toBe(true);
});
