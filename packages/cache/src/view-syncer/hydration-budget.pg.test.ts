import {afterEach, expect, test} from 'vitest';
import type {AST, RowValue} from '@zync/protocol';
import {createTestDatabase} from '../../../../test/pg.ts';
import {engineQueryDriverFactory} from './engine-query-driver.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {MemorySnapshot} from '../../test/sync/memory-snapshot.ts';
import {TestClient} from '../../test/sync/test-client.ts';

let t: TestServer | undefined;

afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const issues = (n: number): RowValue[] => Array.from({length: n}, (_, id) => ({id, n: id}));
const all: AST = {kind: 'query', table: 'issue'};
const first = (n: number): AST => ({
  kind: 'query',
  table: 'issue',
  orderBy: [['id', 'asc']],
  limit: n,
});

test('a query that reads more rows than ZERO_QUERY_MAX_HYDRATION_ROWS is refused', async () => {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: issues(500)}});
  t = await startTestServer({
    dbUrl: await createTestDatabase('hydration_budget'),
    replica,
    createDriver: engineQueryDriverFactory((_id, b) => new MemorySnapshot(replica, b), {
      maxHydrationRows: 100,
    }),
  });
  const c = await TestClient.open(t.port);
  c.connect({
    clientID: 'c1',
    clientGroupID: 'g1',
    desiredQueries: [
      {op: 'put', hash: 'all', ast: all},
      {op: 'put', hash: 'top', ast: first(5)},
    ],
  });
  const poke = await c.poke();
  expect(poke.gotQueries).toEqual([{op: 'clear'}, {op: 'put', hash: 'top'}]);
  expect(poke.queryErrors).toHaveLength(1);
  expect(poke.queryErrors?.[0]).toMatchObject({hash: 'all', kind: 'refused'});
  expect(poke.queryErrors?.[0]?.message).toContain('ZERO_QUERY_MAX_HYDRATION_ROWS');
  // Only the query within the budget sent rows.
  expect(poke.rows?.filter(r => r.op === 'put')).toHaveLength(5);
  await c.close();
});

test("another group's write reaches its client while one group hydrates a large query", async () => {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: issues(100_000)}});
  const open = engineQueryDriverFactory((_id, b) => new MemorySnapshot(replica, b));
  let wroteDuringHydration = false;
  t = await startTestServer({
    dbUrl: await createTestDatabase('hydration_budget'),
    replica,
    createDriver: id => {
      const d = open(id);
      if (id !== 'big') return d;
      const add = d.addQuery.bind(d);
      d.addQuery = (hash, ast) => {
        const rows = add(hash, ast);
        if (hash === 'all' && rows instanceof Promise) {
          // The hydration yielded: write now, while it is suspended.
          replica.put('issue', {id: 1, n: -1}).commit();
          wroteDuringHydration = true;
        }
        return rows;
      };
      return d;
    },
  });
  const small = await TestClient.open(t.port);
  small.connect({
    clientID: 's',
    clientGroupID: 'small',
    desiredQueries: [{op: 'put', hash: 'top', ast: first(3)}],
  });
  await small.poke();
  const big = await TestClient.open(t.port);
  big.connect({
    clientID: 'b',
    clientGroupID: 'big',
    desiredQueries: [{op: 'put', hash: 'all', ast: all}],
  });
  const arrived: string[] = [];
  const bigPoke = big.poke().then(p => {
    arrived.push('big');
    return p;
  });
  const update = await small.poke();
  arrived.push('small');
  expect(wroteDuringHydration).toBe(true);
  expect(update.rows).toEqual([{op: 'put', table: 'issue', value: {id: 1, n: -1}}]);
  // The big group: its hydration at the version it started on, then the write, exactly once.
  const hydration = await bigPoke;
  // The small group's poke did not wait for the big group's step.
  expect(arrived).toEqual(['small', 'big']);
  expect(hydration.rows?.filter(r => r.op === 'put')).toHaveLength(100_000);
  expect(hydration.rows).toContainEqual({op: 'put', table: 'issue', value: {id: 1, n: 1}});
  const next = await big.poke();
  expect(next.rows).toEqual([{op: 'put', table: 'issue', value: {id: 1, n: -1}}]);
  await small.close();
  await big.close();
});
