// The Zero 1.x server names, imported the way a 1.x app imports them.
import type {Pool} from 'pg';
import {expect, expectTypeOf, test} from 'vitest';
import {createBuilder, createSchema, string, table} from 'zync';
import {handleMutateRequest, handleQueryRequest, type ServerTransaction} from 'zync/server';
import {zeroNodePg, type NodePgTransaction, type ZQLDatabase} from 'zync/server/adapters/pg';
import {
  zeroPostgresJS,
  type PostgresJsTransaction,
  type ZQLDatabase as ZQLDatabaseJS,
} from 'zync/server/adapters/postgresjs';

const schema = createSchema({
  tables: [table('issue').columns({id: string(), title: string()}).primaryKey('id')],
});

test('zync/server and its adapter subpaths export the 1.x names', async () => {
  expect(typeof handleMutateRequest).toBe('function');
  expect(typeof zeroNodePg).toBe('function');
  expect(typeof zeroPostgresJS).toBe('function');
  const issues = createBuilder(schema).issue;
  const res = await handleQueryRequest({
    handler: (_name, args) => issues.where('id', (args as {id: string}).id),
    schema,
    body: ['transform', [{id: 'q', name: 'issue.byID', args: [{id: 'i1'}]}]],
    query: {},
    userID: 'u1',
  });
  expect(res).toMatchObject({kind: 'QueryResponse', userID: 'u1', queries: [{id: 'q'}]});
});

test('the transaction a 1.x mutate handler receives is the adapter’s server transaction', () => {
  type DB = ZQLDatabase<typeof schema, NodePgTransaction>;
  expectTypeOf(zeroNodePg<typeof schema>).returns.toEqualTypeOf<DB>();
  expectTypeOf(zeroPostgresJS<typeof schema>).returns.toEqualTypeOf<
    ZQLDatabaseJS<typeof schema, PostgresJsTransaction>
  >();
  const handle = (pool: Pool, request: Request) =>
    handleMutateRequest({
      dbProvider: zeroNodePg(schema, pool),
      handler: transact =>
        transact((tx, name, args) => {
          expectTypeOf(tx).toExtend<ServerTransaction<typeof schema, NodePgTransaction>>();
          expectTypeOf(name).toEqualTypeOf<string>();
          return tx.mutate.issue.insert(args as {id: string; title: string});
        }),
      request,
      userID: null,
    });
  expectTypeOf(handle).toBeFunction();
});
