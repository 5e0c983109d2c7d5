import {afterEach, describe, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {ManualClock} from '../../../../test/manual-clock.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {highPriority, issues, openTop2, summarize} from '../../test/sync/poke-summary.ts';
import {RecomputeDriver} from '../../test/sync/recompute-driver.ts';
import type {DriverRow, QueryDriver} from './query-driver.ts';
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

    test('a client that starts from nothing gets its rows in parts ahead of the poke', async () => {
      const {port} = await setup({pokePartRows: 2});
      const join = async (clientID: string, hash: string, ast: AST, baseVersion?: string) => {
        const c = await TestClient.open(port);
        c.connect({
          clientID,
          clientGroupID: 'g-parts',
          ...(baseVersion ? {baseVersion} : {}),
          desiredQueries: [{op: 'put', hash, ast}],
        });
        return {c, poke: await c.poke()};
      };
      const {c: c1, poke: p1} = await join('c1', 'ALL', {kind: 'query', table: 'issue'});
      const parts = c1.frames.filter(f => f[0] === 'pokePart').map(f => f[1]);
      // clear + 5 rows, two per part; nothing is left for the poke itself.
      expect(parts.map(p => p.rows.length)).toEqual([2, 2, 2]);
      expect(parts.every(p => p.pokeID === p1.pokeID)).toBe(true);
      expect(parts[0]?.rows[0]).toEqual({op: 'clear'});
      expect(p1.baseVersion).toBeNull();
      expect(summarize(p1)).toEqual({
        clear: true,
        puts: ['issue:1', 'issue:2', 'issue:3', 'issue:4', 'issue:5'],
        dels: [],
        got: ['clear', 'put:ALL'],
      });

      // Another client of the group, from nothing, with a smaller query: its own rows
      // come in parts, the group's other rows in the poke.
      const {c: c2, poke: p2} = await join('c2', 'B', highPriority);
      const parts2 = c2.frames.filter(f => f[0] === 'pokePart').map(f => f[1]);
      expect(parts2.map(p => p.rows)).toEqual([
        [{op: 'clear'}, {op: 'put', table: 'issue', value: {id: 3, status: 'closed', priority: 9}}],
        [{op: 'put', table: 'issue', value: {id: 4, status: 'open', priority: 7}}],
      ]);
      expect(summarize(p2)).toEqual({
        clear: true,
        puts: ['issue:1', 'issue:2', 'issue:3', 'issue:4', 'issue:5'],
        dels: [],
        got: ['clear', 'put:ALL', 'put:B'],
      });
      // c1 was poked the gotQueries change only.
      expect(summarize(await c1.poke())).toEqual({
        clear: false,
        puts: [],
        dels: [],
        got: ['put:B'],
      });

      // Reconnecting with its version: a delta, no parts.
      await c2.close();
      const {c: c3, poke: p3} = await join('c2', 'B', highPriority, p2.version);
      expect(p3.baseVersion).toBe(p2.version);
      expect(c3.frames.some(f => f[0] === 'pokePart')).toBe(false);
      await c1.close();
      await c3.close();
    });

    test('two groups: hydrate, then inserts/updates/deletes move rows in and out of filter and limit', async () => {
      const {replica, port} = await setup();
      const c1 = await TestClient.open(port);
      c1.connect({
        clientID: 'c1',
        clientGroupID: 'g1',
        desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
      });
      const p1 = await c1.poke();
      expect(p1.baseVersion).toBeNull();
      expect(summarize(p1)).toEqual({
        clear: true,
        puts: ['issue:2', 'issue:4'],
        dels: [],
        got: ['clear', 'put:A'],
      });
      expect(p1.rows).toContainEqual({
        op: 'put',
        table: 'issue',
        value: {id: 4, status: 'open', priority: 7},
      });

      const c2 = await TestClient.open(port);
      c2.connect({
        clientID: 'c2',
        clientGroupID: 'g2',
        desiredQueries: [{op: 'put', hash: 'B', ast: highPriority}],
      });
      expect(summarize(await c2.poke())).toEqual({
        clear: true,
        puts: ['issue:3', 'issue:4'],
        dels: [],
        got: ['clear', 'put:B'],
      });

      // Insert: 6 enters the top 2 and pushes 2 out; 6 also enters B.
      replica.put('issue', {id: 6, status: 'open', priority: 8}).commit();
      let a = await c1.poke();
      expect(a.baseVersion).toBe(p1.version);
      expect(summarize(a)).toEqual({clear: false, puts: ['issue:6'], dels: ['issue:2'], got: []});
      expect(summarize(await c2.poke())).toEqual({
        clear: false,
        puts: ['issue:6'],
        dels: [],
        got: [],
      });

      // Update: 4 is closed, leaves A (2 comes back); for B it is an edit.
      replica.put('issue', {id: 4, status: 'closed', priority: 7}).commit();
      a = await c1.poke();
      expect(summarize(a)).toEqual({clear: false, puts: ['issue:2'], dels: ['issue:4'], got: []});
      const b = await c2.poke();
      expect(b.rows).toEqual([
        {op: 'put', table: 'issue', value: {id: 4, status: 'closed', priority: 7}},
      ]);

      // Delete 3: only B has it. c1 gets no poke; its next poke is the following change.
      replica.del('issue', {id: 3}).commit();
      expect(summarize(await c2.poke())).toEqual({
        clear: false,
        puts: [],
        dels: ['issue:3'],
        got: [],
      });
      replica.put('issue', {id: 7, status: 'open', priority: 9}).commit();
      const next = await c1.poke();
      expect(next.baseVersion).toBe(a.version);
      expect(summarize(next)).toEqual({
        clear: false,
        puts: ['issue:7'],
        dels: ['issue:2'],
        got: [],
      });
      expect(summarize(await c2.poke()).puts).toEqual(['issue:7']);
      await c1.close();
      await c2.close();
    });

    test('rows shared by two queries are sent once and deleted only when neither needs them', async () => {
      const {port} = await setup();
      const c = await TestClient.open(port);
      c.connect({
        clientID: 'c1',
        clientGroupID: 'g1',
        desiredQueries: [
          {op: 'put', hash: 'A', ast: openTop2, ttlMs: 0},
          {op: 'put', hash: 'B', ast: highPriority, ttlMs: 0},
        ],
      });
      const p = await c.poke();
      // 4 is in both queries: one put.
      expect(summarize(p)).toEqual({
        clear: true,
        puts: ['issue:2', 'issue:3', 'issue:4'],
        dels: [],
        got: ['clear', 'put:A', 'put:B'],
      });

      c.send(['changeDesiredQueries', {patch: [{op: 'del', hash: 'B'}]}]);
      expect(summarize(await c.poke())).toEqual({
        clear: false,
        puts: [],
        dels: ['issue:3'],
        got: ['del:B'],
      });

      c.send(['changeDesiredQueries', {patch: [{op: 'del', hash: 'A'}]}]);
      expect(summarize(await c.poke())).toEqual({
        clear: false,
        puts: [],
        dels: ['issue:2', 'issue:4'],
        got: ['del:A'],
      });
      await c.close();
    });

    test('one query wanted by two clients of a group runs once; both get its pokes', async () => {
      const {replica, port, server} = await setup();
      const a = await TestClient.open(port);
      a.connect({
        clientID: 'a',
        clientGroupID: 'g',
        desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
      });
      await a.poke();
      const b = await TestClient.open(port);
      b.connect({
        clientID: 'b',
        clientGroupID: 'g',
        desiredQueries: [{op: 'put', hash: 'A', ast: openTop2}],
      });
      const pb = await b.poke();
      expect(summarize(pb)).toEqual({
        clear: true,
        puts: ['issue:2', 'issue:4'],
        dels: [],
        got: ['clear', 'put:A'],
      });
      if (kind === 'recompute') {
        expect((server.drivers.get('g') as RecomputeDriver).queryCount).toBe(1);
      }
      replica.put('issue', {id: 1, status: 'open', priority: 100}).commit();
      const [pa2, pb2] = [await a.poke(), await b.poke()];
      expect(pa2).toEqual(pb2);
      expect(summarize(pa2)).toEqual({clear: false, puts: ['issue:1'], dels: ['issue:2'], got: []});

      // One client leaving keeps the query for the other: no poke.
      await a.close();
      replica.put('issue', {id: 2, status: 'open', priority: 200}).commit();
      expect(summarize(await b.poke())).toEqual({
        clear: false,
        puts: ['issue:2'],
        dels: ['issue:4'],
        got: [],
      });
      await b.close();
    });

    test('a query nobody wants is dropped after its TTL', async () => {
      // TTLs run on a clock the test moves: the moment of the drop is exact.
      const clock = new ManualClock(Date.now());
      const {port} = await setup({}, {clock});
      const c = await TestClient.open(port);
      c.connect({
        clientID: 'c1',
        clientGroupID: 'g1',
        desiredQueries: [{op: 'put', hash: 'B', ast: highPriority, ttlMs: 300}],
      });
      await c.poke();
      c.send(['changeDesiredQueries', {patch: [{op: 'del', hash: 'B'}]}]);
      // The query is kept, its TTL timer armed; at the TTL it is still there.
      await expect.poll(() => clock.pending).toBe(1);
      clock.advance(300);
      expect(clock.pending).toBe(1);
      c.send(['ping', {}]);
      await c.next('pong');
      expect(c.pendingPokes()).toEqual([]);
      clock.advance(1);
      expect(clock.pending).toBe(0);
      const p = await c.poke();
      expect(summarize(p)).toEqual({
        clear: false,
        puts: [],
        dels: ['issue:3', 'issue:4'],
        got: ['del:B'],
      });
      await c.close();
    });

    test('a query put again within its TTL is not re-sent', async () => {
      const {port} = await setup();
      const c = await TestClient.open(port);
      c.connect({
        clientID: 'c1',
        clientGroupID: 'g1',
        desiredQueries: [{op: 'put', hash: 'B', ast: highPriority, ttlMs: 60_000}],
      });
      await c.poke();
      c.send(['changeDesiredQueries', {patch: [{op: 'del', hash: 'B'}]}]);
      c.send(['changeDesiredQueries', {patch: [{op: 'put', hash: 'B', ast: highPriority}]}]);
      c.send(['ping', {}]);
      await c.next('pong');
      expect(c.pendingPokes()).toEqual([]);
      await c.close();
    });

    test('a query that cannot run gets a query error; others are unaffected', async () => {
      const {port} = await setup();
      const c = await TestClient.open(port);
      c.connect({
        clientID: 'c1',
        clientGroupID: 'g1',
        desiredQueries: [
          {op: 'put', hash: 'bad', ast: {kind: 'query', table: 'nope'}},
          {op: 'put', hash: 'synced', name: 'myQuery', args: [1]},
          {op: 'put', hash: 'B', ast: highPriority},
        ],
      });
      const p = await c.poke();
      expect(summarize(p).got).toEqual(['clear', 'put:B']);
      expect(p.queryErrors?.map(e => [e.hash, e.kind]).sort()).toEqual([
        ['bad', 'internal'],
        ['synced', 'unknown-query'],
      ]);
      await c.close();
    });

    test('a group without clients is released from memory after the idle period', async () => {
      const {port, server} = await setup({groupIdleMs: 100});
      const c = await TestClient.open(port);
      c.connect({
        clientID: 'c1',
        clientGroupID: 'g1',
        desiredQueries: [{op: 'put', hash: 'B', ast: highPriority}],
      });
      await c.poke();
      expect(server.server.stats()).toEqual({connections: 1, clientGroups: 1});
      const driver = server.drivers.get('g1');
      await c.close();
      await expect.poll(() => server.server.stats().clientGroups, {timeout: 3000}).toBe(0);
      expect(server.server.stats().connections).toBe(0);
      if (driver instanceof RecomputeDriver) expect(driver.destroyed).toBe(true);
    });
  });
}

test('rows sent ahead in parts for a query that then fails are taken back by the poke', async () => {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows: issues()}});
  // A driver whose query `BAD` yields three rows, then fails.
  const createDriver = (): QueryDriver => {
    const inner = new RecomputeDriver(replica);
    return {
      get version() {
        return inner.version;
      },
      addQuery(hash: string, ast: AST) {
        const rows = [...(inner.addQuery(hash, ast) as Iterable<DriverRow>)];
        if (hash !== 'BAD') return rows;
        return (function* () {
          yield* rows.slice(0, 3);
          throw new Error('the query broke halfway');
        })();
      },
      removeQuery: hash => inner.removeQuery(hash),
      advance: () => inner.advance(),
      destroy: () => inner.destroy(),
    };
  };
  t = await startTestServer({
    dbUrl: await createTestDatabase('view_syncer'),
    replica,
    createDriver,
    limits: {pokePartRows: 1},
  });
  const c = await TestClient.open(t.port);
  c.connect({
    clientID: 'c',
    clientGroupID: 'g-bad',
    desiredQueries: [{op: 'put', hash: 'B', ast: highPriority}],
  });
  await c.poke();
  const before = c.frames.filter(f => f[0] === 'pokePart').length;
  c.send([
    'changeDesiredQueries',
    {patch: [{op: 'put', hash: 'BAD', ast: {kind: 'query', table: 'issue'}}]},
  ]);
  const p = await c.poke();
  expect(c.frames.filter(f => f[0] === 'pokePart').length - before).toBe(3);
  // Rows 3 and 4 stay (query B has them); the others the parts put are deleted again.
  const s = summarize(p);
  expect(s.puts).toEqual(['issue:1', 'issue:2', 'issue:3']);
  expect(s.dels).toEqual(['issue:1', 'issue:2']);
  expect(p.queryErrors?.map(e => e.hash)).toEqual(['BAD']);
  await c.close();
});

test('engine driver: related rows come and go with their parents', async () => {
  const replica = new MemoryReplica({
    issue: {primaryKey: ['id'], rows: issues()},
    comment: {
      primaryKey: ['id'],
      rows: [
        {id: 'c1', issueID: 4},
        {id: 'c2', issueID: 1},
      ],
    },
  });
  const createDriver = driverFor('engine', replica);
  t = await startTestServer({
    dbUrl: await createTestDatabase('view_syncer'),
    replica,
    ...(createDriver ? {createDriver} : {}),
  });
  const withComments: AST = {
    ...openTop2,
    related: [
      {
        kind: 'correlated',
        correlation: {parentField: ['id'], childField: ['issueID']},
        subquery: {kind: 'query', table: 'comment', alias: 'comments'},
      },
    ],
  };
  const c = await TestClient.open(t.port);
  c.connect({
    clientID: 'c',
    clientGroupID: 'g',
    desiredQueries: [{op: 'put', hash: 'R', ast: withComments}],
  });
  expect(summarize(await c.poke()).puts).toEqual(['comment:"c1"', 'issue:2', 'issue:4']);
  replica.put('comment', {id: 'c3', issueID: 2}).commit();
  expect(summarize(await c.poke()).puts).toEqual(['comment:"c3"']);
  // 4 leaves the top 2 with its comment; 1 enters with its comment.
  replica.put('issue', {id: 4, status: 'closed', priority: 7}).commit();
  expect(summarize(await c.poke())).toEqual({
    clear: false,
    puts: ['comment:"c2"', 'issue:1'],
    dels: ['comment:"c1"', 'issue:4'],
    got: [],
  });
  await c.close();
});
