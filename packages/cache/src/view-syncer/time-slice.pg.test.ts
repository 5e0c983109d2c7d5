import {afterAll, beforeAll, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {RecomputeDriver} from '../../test/sync/recompute-driver.ts';
import {TestClient} from '../../test/sync/test-client.ts';

/** CPU time each query's hydration takes (a busy wait: the event loop is held). */
const HYDRATE_MS = 25;
const QUERIES = 10;

let t: TestServer;

beforeAll(async () => {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: [{id: 1}]}});
  t = await startTestServer({
    dbUrl: await createTestDatabase('time_slice'),
    replica,
    createDriver: () => {
      const d = new RecomputeDriver(replica);
      const add = d.addQuery.bind(d);
      d.addQuery = (hash: string, ast: AST) => {
        const until = performance.now() + HYDRATE_MS;
        while (performance.now() < until) {
          // holding the event loop, as a costly hydration does
        }
        return add(hash, ast);
      };
      return d;
    },
  });
});

afterAll(async () => {
  await t.stop();
});

test('a step hydrating many queries gives the event loop back between them', async () => {
  const c = await TestClient.open(t.port);
  let longest = 0;
  let last = performance.now();
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  c.connect({
    clientID: 'c1',
    clientGroupID: 'g1',
    desiredQueries: Array.from({length: QUERIES}, (_, i) => ({
      op: 'put' as const,
      hash: `q${i}`,
      ast: {kind: 'query' as const, table: 'issue', limit: i + 1},
    })),
  });
  const poke = await c.poke();
  ticking = false;
  expect(poke.gotQueries).toHaveLength(QUERIES + 1);
  // All ten in one turn hold the loop for at least 250 ms; sliced, one or two queries
  // (25–50 ms). The bound leaves room for the OS pausing the process on a loaded machine.
  expect(longest).toBeLessThan(HYDRATE_MS * 8);
  await c.close();
});
