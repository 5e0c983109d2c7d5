// A client whose client group zero-cache purged comes back: the server says ClientNotFound,
// the client drops what it synced, tells the app, and syncs everything again.
import {memStoreProvider, Zero} from '@zync/client';
import {CVRStore} from '@zync/cache';
import {silentLogger} from '@zync/shared';
import {createSchema, number, string, table} from '@zync/zql';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from './zero-cache.ts';
import {startZeroCache} from './zero-cache.ts';

const schema = createSchema({
  tables: [table('note').columns({id: string(), n: number()}).primaryKey('id')],
});

type View = {readonly data: unknown; readonly resultType: string; destroy(): void};

let db: pg.Pool;
let zc: StartedZeroCache;

beforeAll(async () => {
  const url = await createTestDatabase('e2e_client_not_found');
  db = new pg.Pool({connectionString: url, max: 2});
  await db.query(`CREATE TABLE note (id TEXT PRIMARY KEY, n INT NOT NULL);
                  INSERT INTO note VALUES ('a', 1);`);
  // Groups nobody is connected to are released at once, so that they can be purged.
  zc = await startZeroCache(url, {hooks: {limits: {groupIdleMs: 20}}});
});

afterAll(async () => {
  await zc?.stop();
  await db?.end();
});

test('after its CVR was purged, a client resets, calls onClientStateNotFound and syncs again', async () => {
  const provider = memStoreProvider();
  const open = (onClientStateNotFound?: () => void) =>
    new Zero({
      server: zc.url,
      userID: 'u',
      schema,
      kvStore: provider,
      ...(onClientStateNotFound ? {onClientStateNotFound} : {}),
    });

  const z1 = open();
  const v1 = z1.materialize(z1.query.note) as unknown as View;
  await vi.waitFor(() => expect(v1.resultType).toBe('complete'), {timeout: 10_000});
  expect(v1.data).toEqual([{id: 'a', n: 1}]);
  const group = await z1.clientGroupID;
  v1.destroy();
  await z1.close();

  // The garbage collector finds the group inactive and removes its CVR.
  const store = new CVRStore(db, zc.appId, silentLogger);
  await expect.poll(() => store.purgeInactive(0, 100), {timeout: 10_000}).toBeGreaterThan(0);
  await db.query(`INSERT INTO note VALUES ('b', 2)`);

  // Reopened on the same local store: it has a cookie the server no longer knows.
  let notFound = 0;
  const z2 = open(() => notFound++);
  expect(await z2.clientGroupID).toBe(group);
  const v2 = z2.materialize(z2.query.note) as unknown as View;
  await vi.waitFor(() => expect(notFound).toBe(1), {timeout: 10_000});
  await vi.waitFor(() => expect(v2.resultType).toBe('complete'), {timeout: 10_000});
  // 'b' reaches the replica asynchronously: in the reset's hydration or in a later poke.
  await vi.waitFor(
    () =>
      expect(v2.data).toEqual([
        {id: 'a', n: 1},
        {id: 'b', n: 2},
      ]),
    {timeout: 10_000},
  );
  expect(z2.connection.state.current.name).toBe('connected');
  v2.destroy();
  await z2.close();
});
