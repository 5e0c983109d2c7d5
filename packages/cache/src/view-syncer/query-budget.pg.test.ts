import {afterAll, beforeAll, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {TestClient} from '../../test/sync/test-client.ts';

let t: TestServer;

beforeAll(async () => {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: [{id: 1}, {id: 2}]}});
  t = await startTestServer({
    dbUrl: await createTestDatabase('query_budget'),
    replica,
    limits: {maxQueryDepth: 2, maxQueriesPerGroup: 2, maxInListLength: 3},
  });
});

afterAll(async () => {
  await t.stop();
});

/** `issue` with its own row as a related subquery, `levels` deep. */
function nested(levels: number): AST {
  let ast: AST = {kind: 'query', table: 'issue', alias: 'self'};
  for (let i = 0; i < levels; i++) {
    ast = {
      kind: 'query',
      table: 'issue',
      ...(i < levels - 1 ? {alias: 'self'} : {}),
      related: [
        {kind: 'correlated', correlation: {parentField: ['id'], childField: ['id']}, subquery: ast},
      ],
    };
  }
  return ast;
}

const inList = (n: number): AST => ({
  kind: 'query',
  table: 'issue',
  where: {
    kind: 'simple',
    op: 'IN',
    left: {kind: 'column', name: 'id'},
    right: {kind: 'literal', value: Array.from({length: n}, (_, i) => i)},
  },
});

// (The test driver runs no subqueries: depths at the limit are covered by query-budget.test.ts.)
test('queries at the limits hydrate; those over get a QueryError naming the setting', async () => {
  const c = await TestClient.open(t.port);
  c.connect({
    clientID: 'c1',
    clientGroupID: 'g1',
    desiredQueries: [
      {op: 'put', hash: 'flat', ast: inList(0)},
      {op: 'put', hash: 'deep-over', ast: nested(3)},
      {op: 'put', hash: 'in-over', ast: inList(4)},
    ],
  });
  const poke = await c.poke();
  expect(poke.gotQueries).toEqual([{op: 'clear'}, {op: 'put', hash: 'flat'}]);
  const errors = Object.fromEntries((poke.queryErrors ?? []).map(e => [e.hash, e]));
  expect(errors['deep-over']).toMatchObject({kind: 'refused'});
  expect(errors['deep-over']?.message).toContain('ZERO_QUERY_MAX_DEPTH');
  expect(errors['in-over']?.message).toContain('ZERO_QUERY_MAX_IN_LIST_LENGTH');

  // One more fits in the group (limit 2); the third is refused.
  c.send([
    'changeDesiredQueries',
    {
      patch: [
        {op: 'put', hash: 'in-ok', ast: inList(3)},
        {op: 'put', hash: 'one-too-many', ast: inList(1)},
      ],
    },
  ]);
  const next = await c.poke();
  expect(next.gotQueries).toEqual([{op: 'put', hash: 'in-ok'}]);
  expect(next.queryErrors?.[0]).toMatchObject({hash: 'one-too-many', kind: 'refused'});
  expect(next.queryErrors?.[0]?.message).toContain('ZERO_MAX_QUERIES_PER_CLIENT_GROUP');
  await c.close();
});
