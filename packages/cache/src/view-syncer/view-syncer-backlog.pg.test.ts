// Backpressure in the view syncer: large pokes go out in parts, a catch-up larger than the
// backlog limit still goes out whole, and a client that does not read is closed without
// holding back the others. Each test runs with the recompute driver and with the engine's.
import {afterEach, describe, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {createLogger} from '@zync/shared';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {highPriority, issues, summarize} from '../../test/sync/poke-summary.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {
  DRIVER_KINDS,
  driverFor,
  startViewSyncer,
  type ViewSyncerLimits,
  type ViewSyncerOptions,
} from '../../test/sync/view-syncer-server.ts';

let t: TestServer | undefined;

afterEach(async () => {
  await t?.stop();
  t = undefined;
});

for (const kind of DRIVER_KINDS) {
  describe(`with the ${kind} driver`, () => {
    async function setup(limits?: ViewSyncerLimits, options?: ViewSyncerOptions) {
      const started = await startViewSyncer(kind, limits, options);
      t = started.server;
      return started;
    }

    test('a large query added to a connected group goes to all its clients in parts', async () => {
      const {port} = await setup({pokePartRows: 2});
      const join = async (clientID: string) => {
        const c = await TestClient.open(port);
        c.connect({
          clientID,
          clientGroupID: 'g-add',
          desiredQueries: [{op: 'put', hash: 'B', ast: highPriority}],
        });
        await c.poke();
        return c;
      };
      const clients = [await join('a'), await join('b')];
      const parts = (c: TestClient) => c.frames.filter(f => f[0] === 'pokePart').map(f => f[1]);
      const before = clients.map(c => ({parts: parts(c).length, version: c.version}));
      clients[0]?.send([
        'changeDesiredQueries',
        {patch: [{op: 'put', hash: 'ALL', ast: {kind: 'query', table: 'issue'}}]},
      ]);
      for (const [i, c] of clients.entries()) {
        const p = await c.poke();
        const mine = parts(c).slice(before[i]?.parts);
        // Five rows, two per part, no clear; the poke itself has only the query.
        expect(mine.map(x => x.rows.length)).toEqual([2, 2, 1]);
        expect(mine.flatMap(x => x.rows).some(r => r.op === 'clear')).toBe(false);
        expect(mine.every(x => x.pokeID === p.pokeID)).toBe(true);
        expect(p.baseVersion).toBe(before[i]?.version);
        expect(summarize(p)).toEqual({
          clear: false,
          puts: ['issue:1', 'issue:2', 'issue:3', 'issue:4', 'issue:5'],
          dels: [],
          got: ['put:ALL'],
        });
      }
      for (const c of clients) await c.close();
    });

    test('a catch-up larger than the backlog limit still goes out whole, in parts', async () => {
      const kinds: unknown[] = [];
      const logger = createLogger('debug', (_l, msg, ctx) => {
        if (msg === 'Closing connection') kinds.push(ctx['kind']);
      });
      const body = 'y'.repeat(2 * 1024 * 1024);
      const {port} = await setup(
        {maxBufferedBytes: 64 * 1024, pokePartRows: 1},
        {rows: issues().map(r => ({...r, body})), logger},
      );
      const c = await TestClient.open(port);
      // The client reads nothing while the server writes its 10 MB catch-up: most of it
      // waits in the server's send buffer, far over the backlog limit.
      const socket = (c.ws as unknown as {_socket: {pause(): void; resume(): void}})._socket;
      socket.pause();
      c.connect({
        clientID: 'c',
        clientGroupID: 'big',
        desiredQueries: [{op: 'put', hash: 'q', ast: {kind: 'query', table: 'issue'}}],
      });
      // A CVR write follows its poke: once the group's rows are recorded, the whole
      // catch-up has been handed to the socket, unread.
      const recorded = async () =>
        Number(
          (
            await t!.pool.query<{n: string}>(
              `SELECT count(*) AS n FROM "zync_test_cvr".rows WHERE group_id = 'big'`,
            )
          ).rows[0]?.n,
        );
      await expect.poll(recorded, {timeout: 15_000}).toBe(5);
      expect(c.frames).toEqual([]);
      socket.resume();
      const p = await c.poke();
      expect(c.frames.filter(f => f[0] === 'pokePart').length).toBe(5);
      expect(summarize(p).puts).toHaveLength(5);
      expect(kinds).not.toContain('ServerOverloaded');
      await c.close();
    });

    test('a slow client is closed with ServerOverloaded; others keep receiving', async () => {
      const kinds: unknown[] = [];
      const logger = createLogger('debug', (_l, msg, ctx) => {
        if (msg === 'Closing connection') kinds.push(ctx['kind']);
      });
      const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: issues()}});
      const createDriver = driverFor(kind, replica);
      t = await startTestServer({
        dbUrl: await createTestDatabase('view_syncer'),
        replica,
        logger,
        ...(createDriver ? {createDriver} : {}),
        limits: {maxBufferedBytes: 64 * 1024},
      });
      const all: AST = {kind: 'query', table: 'issue'};
      const slow = await TestClient.open(t.port);
      slow.connect({
        clientID: 's',
        clientGroupID: 'slow',
        desiredQueries: [{op: 'put', hash: 'q', ast: all}],
      });
      await slow.poke();
      const fast = await TestClient.open(t.port);
      fast.connect({
        clientID: 'f',
        clientGroupID: 'fast',
        desiredQueries: [{op: 'put', hash: 'q', ast: all}],
      });
      await fast.poke();
      // The slow client stops reading; the kernel buffers tens of MB before the server sees it.
      (slow.ws as unknown as {_socket: {pause(): void}})._socket.pause();
      const big = 'x'.repeat(2 * 1024 * 1024);
      for (let i = 0; i < 60 && !kinds.includes('ServerOverloaded'); i++) {
        replica.put('issue', {id: 1000 + i, status: 'open', priority: 0, body: big}).commit();
        const p = await fast.poke();
        expect(summarize(p).puts).toEqual([`issue:${1000 + i}`]);
      }
      expect(kinds).toContain('ServerOverloaded');
      // It cannot read its error frame while paused; the server cuts it after a grace period.
      await expect.poll(() => t?.server.stats().connections).toBe(1);
      replica.put('issue', {id: 1, status: 'open', priority: 1, body: 'after'}).commit();
      expect(summarize(await fast.poke()).puts).toEqual(['issue:1']);
      await fast.close();
      slow.ws.terminate();
    });
  });
}
