import {afterAll, beforeAll, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {RecomputeDriver} from '../../test/sync/recompute-driver.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {DEFAULT_SLICE_MS} from './time-slice.ts';

/**
 * CPU time each query's hydration takes (a busy wait: the event loop is held). It is longer
 * than a slice (DEFAULT_SLICE_MS), measured on the slicer's own clock, so on any machine
 * the step's slice is used up after every query.
 */
const HYDRATE_MS = DEFAULT_SLICE_MS + 5;
const QUERIES = 10;

let t: TestServer;
/** Turns of the event loop so far (counted while a test watches). */
let turns = 0;
/** The turn each hydration started in. */
const hydratedIn: number[] = [];

beforeAll(async () => {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: [{id: 1}]}});
  t = await startTestServer({
    dbUrl: await createTestDatabase('time_slice'),
    replica,
    createDriver: () => {
      const d = new RecomputeDriver(replica);
      const add = d.addQuery.bind(d);
      d.addQuery = (hash: string, ast: AST) => {
        hydratedIn.push(turns);
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
  let ticking = true;
  const tick = () => {
    turns++;
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
  // Unsliced, all ten hydrate in one turn of the event loop; sliced, each in a turn of its
  // own: the loop turned between any two of them.
  expect(hydratedIn).toHaveLength(QUERIES);
  for (let i = 1; i < QUERIES; i++) expect(hydratedIn[i]).toBeGreaterThan(hydratedIn[i - 1]!);
  await c.close();
});
