// Mutations whose answer was lost after they were applied: the resend is skipped by the
// server, which says `alreadyProcessed`, so every `.server` promise settles.
import type {ZeroOptions} from '@zync/client';
import {Zero} from '@zync/client';
import type {Pusher} from '@zync/cache';
import {ZeroPusher} from '@zync/cache';
import {ProtocolError} from '@zync/protocol';
import type {ServerTransaction} from '@zync/server';
import {silentLogger} from '@zync/shared';
import {createSchema, number, string, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {ApiServer} from './api-server.ts';
import {startApiServer} from './api-server.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [table('item').columns({id: string(), votes: number()}).primaryKey('id')],
});

type ClientTx = {mutate: {item: {insert(v: object): Promise<void>}}};
const clientMutators = {
  item: {
    add: async (tx: ClientTx, {id}: {id: string}) => {
      await tx.mutate.item.insert({id, votes: 0});
    },
  },
};
const serverMutators = {
  item: {
    add: async (tx: ServerTransaction<typeof schema, unknown>, {id}: {id: string}) => {
      await tx.mutate.item.insert({id, votes: 1});
    },
  },
};

const appId = `lost_${process.pid}`;
let db: pg.Pool;
let api: ApiServer;
let zc: StartedZeroCache;
/** How many of the next pushes are applied and then fail as if zero-cache died. */
let loseAnswers = 0;
const zeros: Zero<typeof schema, typeof clientMutators>[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('e2e_lost_answers');
  db = new pg.Pool({connectionString: url, max: 4});
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, votes INT NOT NULL)`);
  api = await startApiServer(url, schema, serverMutators);
  const real = new ZeroPusher({
    db,
    appID: appId,
    jwtAuth: false,
    mutate: {
      url: api.url,
      apiKey: undefined,
      forwardCookies: false,
      retry: {initialDelayMs: 20, maxDelayMs: 50, maxElapsedMs: 10_000},
    },
    logger: silentLogger,
  });
  // zero-cache "dies" after the push is committed: the client never hears the answer.
  const pusher: Pusher = {
    push: async (body, ctx) => {
      const out = await real.push(body, ctx);
      if (loseAnswers > 0) {
        loseAnswers--;
        throw new ProtocolError('PushFailed', 'lost');
      }
      return out;
    },
  };
  zc = await startZeroCache(url, {appId, hooks: {pusher}});
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await api?.close();
  await db?.end();
});

function client(extra: Partial<ZeroOptions<typeof schema, typeof clientMutators>> = {}) {
  const z = new Zero({
    server: zc.url,
    userID: 'anon',
    schema,
    kvStore: 'mem' as const,
    mutators: clientMutators,
    ...extra,
  });
  zeros.push(z);
  return z;
}

async function votes(id: string): Promise<number | undefined> {
  const {rows} = await db.query<{votes: number}>('SELECT votes FROM item WHERE id = $1', [id]);
  return rows[0]?.votes;
}

test('the API server commits, then answers 500: the retry is alreadyProcessed and .server settles', async () => {
  const z = client();
  const view = z.query.item.materialize() as unknown as {resultType: string};
  await vi.waitFor(() => expect(view.resultType).toBe('complete'), {timeout: 10_000});
  const before = api.requests.length;
  api.state.failuresAfterProcessing.push(500);
  const m = z.mutate.item.add({id: 'custom1'});
  expect(await m.server).toEqual({type: 'success'});
  // Applied once, by the first request; the retry found it processed.
  expect(await votes('custom1')).toBe(1);
  expect(api.requests.length - before).toBe(2);
});

test('zero-cache dies after committing a CRUD push: the resend settles .server', async () => {
  const z = client();
  const view = z.query.item.materialize() as unknown as {resultType: string};
  await vi.waitFor(() => expect(view.resultType).toBe('complete'), {timeout: 10_000});
  loseAnswers = 1;
  const m = z.mutate.item.insert({id: 'crud1', votes: 7});
  expect(await m.server).toEqual({type: 'success'});
  expect(loseAnswers).toBe(0);
  expect(await votes('crud1')).toBe(7);
});
