// Type-level checks that the public entry point offers what API.md lists, in the generic
// forms apps use.
import {expectTypeOf, test} from 'vitest';
import type {Row, Transaction, UpdateValue} from './index.ts';
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
