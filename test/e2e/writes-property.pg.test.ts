// Property: random interleavings of local mutations (two clients, one of them two tabs of
// one client group) and direct upstream writes converge to the server's state, with every
// mutation applied exactly once.
import {memStoreProvider, Zero} from '@zync/client';
import type {ServerTransaction} from '@zync/server';
import {createSchema, number, string, table} from '@zync/zql';
import fc from 'fast-check';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {ApiServer} from './api-server.ts';
import {startApiServer} from './api-server.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [table('counter').columns({id: string(), n: number()}).primaryKey('id')],
});

type ClientTx = {
  mutate: {counter: {upsert(v: object): Promise<void>}};
  query: {counter: {where(c: string, v: string): {one(): {run(): Promise<unknown>}}}};
};
const clientMutators = {
  counter: {
    add: async (tx: ClientTx, {id, by}: {id: string; by: number}) => {
      const row = (await tx.query.counter.where('id', id).one().run()) as {n: number} | undefined;
      await tx.mutate.counter.upsert({id, n: (row?.n ?? 0) + by});
    },
  },
};
const serverMutators = {
  counter: {
    add: async (
      tx: ServerTransaction<typeof schema, unknown>,
      {id, by}: {id: string; by: number},
    ) => {
      await tx.dbTransaction.query(
        `INSERT INTO counter (id, n) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET n = counter.n + EXCLUDED.n`,
        [id, by],
      );
      await tx.dbTransaction.query(`INSERT INTO applied (client_id, mutation_id) VALUES ($1, $2)`, [
        tx.clientID,
        tx.mutationID,
      ]);
    },
  },
};

let db: pg.Client;
let zc: StartedZeroCache;
let api: ApiServer;

beforeAll(async () => {
  const url = await createTestDatabase('e2e_prop');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE counter (id TEXT PRIMARY KEY, n INT NOT NULL);
                  CREATE TABLE applied (client_id TEXT, mutation_id INT,
                                        PRIMARY KEY (client_id, mutation_id));`);
  api = await startApiServer(url, schema, serverMutators);
  zc = await startZeroCache(url, {env: {ZERO_MUTATE_URL: api.url}});
});

afterAll(async () => {
  await zc?.stop();
  await api?.close();
  await db?.end();
});

type Action =
  | {kind: 'mutate'; who: 0 | 1 | 2; key: number; by: number}
  | {kind: 'upstream'; key: number; n: number}
  /** Waits for the outcomes of the mutations made so far (not for a time). */
  | {kind: 'pause'};

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('mutate' as const),
    who: fc.constantFrom(0 as const, 1 as const, 2 as const),
    key: fc.integer({min: 0, max: 3}),
    by: fc.integer({min: 1, max: 9}),
  }),
  fc.record({
    kind: fc.constant('upstream' as const),
    key: fc.integer({min: 0, max: 3}),
    n: fc.integer({min: 0, max: 100}),
  }),
  fc.constant({kind: 'pause' as const}),
);

let run = 0;

test('local mutations and upstream writes converge, each mutation applied once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, {minLength: 1, maxLength: 12}), async actions => {
      const r = run++;
      const key = (k: number) => `r${r}k${k}`;
      const shared = memStoreProvider();
      const make = (kvStore: ReturnType<typeof memStoreProvider> | 'mem', userID: string) =>
        new Zero({server: zc.url, userID, schema, kvStore, mutators: clientMutators});
      // Client 0 and 1 are two tabs of one client group (same store); client 2 is another user.
      const zs = [make(shared, 'u'), make(shared, 'u'), make('mem', 'v')];
      try {
        expect(await zs[0]!.clientGroupID).toBe(await zs[1]!.clientGroupID);
        const views = zs.map(z =>
          z.query.counter.where('id', 'LIKE', `r${r}k%`).materialize(),
        ) as unknown as {data: {id: string; n: number}[]}[];
        const results: Promise<{type: string}>[] = [];
        for (const a of actions) {
          if (a.kind === 'mutate') {
            const m = zs[a.who]!.mutate.counter.add({id: key(a.key), by: a.by});
            results.push(m.server);
          } else if (a.kind === 'upstream') {
            await db.query(
              `INSERT INTO counter VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = $2`,
              [key(a.key), a.n],
            );
          } else {
            // A pause lets everything issued so far settle: each mutation has its outcome.
            await Promise.all(results);
          }
        }
        const outcomes = await Promise.all(results);
        expect(outcomes.every(o => o.type === 'success')).toBe(true);
        const {rows} = await db.query<{id: string; n: number}>(
          `SELECT id, n FROM counter WHERE id LIKE $1 ORDER BY id`,
          [`r${r}k%`],
        );
        for (const v of views) {
          await vi.waitFor(() => expect(v.data.map(x => ({id: x.id, n: x.n}))).toEqual(rows), {
            timeout: 10_000,
          });
        }
        const ids = zs.map(z => z.clientID);
        const {rows: applied} = await db.query<{n: number}>(
          `SELECT count(*)::int AS n FROM applied WHERE client_id = ANY($1)`,
          [ids],
        );
        expect(applied[0]?.n).toBe(results.length);
      } finally {
        for (const z of zs) await z.close();
      }
    }),
    {numRuns: 15},
  );
}, 120_000);
