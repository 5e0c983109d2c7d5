// Type-level checks that the public entry point offers what API.md lists, in the generic
// forms apps use.
import {expectTypeOf, test} from 'vitest';
import type {
  Inspector,
  InspectorClient,
  InspectorClientGroup,
  InspectorQuery,
  Row,
  Transaction,
  UpdateValue,
  Zero,
} from './index.ts';
import {createSchema, number, string, table} from './index.ts';

const _schema = createSchema({
  tables: [table('issue').columns({id: string(), votes: number()}).primaryKey('id')],
});
type S = typeof _schema;

test('Transaction, UpdateValue and Row are usable in mutators', () => {
  const bump = async (tx: Transaction<S>, {id}: {id: string}) => {
    const row = await tx.query.issue.where('id', id).one().run();
    await tx.mutate.issue.update({id, votes: (row?.votes ?? 0) + 1});
  };
  expectTypeOf(bump).toBeFunction();
  expectTypeOf<UpdateValue<S['tables']['issue']>>().toExtend<{
    id: string;
    votes?: number | undefined;
  }>();
  expectTypeOf<Row<S['tables']['issue']>>().toEqualTypeOf<{
    readonly id: string;
    readonly votes: number;
  }>();
});

test('zero.inspector and its types come from the main entry', () => {
  type Z = Zero<S>;
  expectTypeOf<Z['inspector']>().toEqualTypeOf<Inspector>();
  expectTypeOf<Inspector['client']['queries']>().returns.resolves.toEqualTypeOf<InspectorQuery[]>();
  expectTypeOf<InspectorQuery['state']>().toEqualTypeOf<'unknown' | 'complete' | 'error'>();
  expectTypeOf<InspectorClientGroup['id']>().toEqualTypeOf<Promise<string>>();
  expectTypeOf<InspectorClient['rows']>().toBeFunction();
});
