// zero-cache on several nodes under failures (docs/scale-out.md): one replication-manager and
// three view-syncers (real processes, one process each), HAProxy in front, a Postgres of this
// file's own so that it can be restarted, and real Zero clients of many client groups while
// upstream writes and CRUD mutations flow. A view-syncer SIGKILLed: its clients move to the
// others and are complete again, nothing lost or applied twice. A new view-syncer joins while
// writes flow: its clients see every row, also those written during the join. Postgres
// restarted under the running nodes: clients keep their data, later writes reach every node.
//
// Every figure is printed at the end; the assertions are about correctness, never speed.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {
  localPgFlags,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../../scripts/embedded-postgres.ts';
import {startCluster, type Cluster, type ClusterNode} from '../cluster.ts';
import {
  byNode,
  createEntryTable,
  entriesView,
  LONG,
  newEntryZero,
  printFigures,
  upstreamEntries,
  type EntryView,
  type EntryZero,
} from '../entry-table.ts';
import {freePort} from '../free-port.ts';

type Client = {
  readonly z: EntryZero;
  readonly view: EntryView;
  readonly group: string;
  mutations: number;
  /** Rows are never deleted here: a view that ever showed fewer rows than before lost data. */
  most: number;
  shrank: number;
};

const PG_FLAGS = localPgFlags({max_connections: 300});

let pgPort = 0;
let pgDir = '';
let server: EmbeddedPostgres;
let db: pg.Client;
let cluster: Cluster;
const clients: Client[] = [];
/** Figures measured along the way, printed at the end. */
const figures: Record<string, number> = {};

async function connectDb(): Promise<pg.Client> {
  const c = new pg.Client({connectionString: server.url()});
  c.on('error', () => {}); // a restart ends the connection; the test opens a new one
  await c.connect();
  return c;
}

beforeAll(async () => {
  pgPort = await freePort();
  pgDir = mkdtempSync(join(tmpdir(), 'zync-failures-pg-'));
  server = await startEmbeddedPostgres({port: pgPort, dataDir: pgDir, flags: PG_FLAGS});
  db = await connectDb();
  await createEntryTable(db, {seed: true});
  const t0 = performance.now();
  cluster = await startCluster({upstreamUrl: server.url(), viewSyncers: 3});
  figures['cluster start (manager, 3 view-syncers, haproxy), ms'] = performance.now() - t0;
});

afterAll(async () => {
  for (const c of clients) await c.z.close();
  await cluster?.stop();
  await db?.end().catch(() => {});
  await server?.stop();
  if (pgDir) rmSync(pgDir, {recursive: true, force: true});
  printFigures('cluster failure figures', figures);
});

let users = 0;

/** `perGroup` clients of one new group, each with a live query of every entry, complete. */
async function openGroup(perGroup: number): Promise<Client[]> {
  const userID = `u${users++}`;
  const zs = Array.from({length: perGroup}, () => newEntryZero(cluster.url, userID));
  const ids = await Promise.all(zs.map(z => z.clientGroupID));
  const out = zs.map(z => {
    const c: Client = {
      z,
      view: entriesView(z),
      group: ids[0]!,
      mutations: 0,
      most: 0,
      shrank: 0,
    };
    c.view.addListener(data => {
      if (data.length < c.most) c.shrank++;
      c.most = Math.max(c.most, data.length);
    });
    return c;
  });
  clients.push(...out);
  for (const c of out) await vi.waitFor(() => expect(c.view.resultType).toBe('complete'), LONG);
  return out;
}

function nodesOf(cs: readonly Client[]): Promise<Map<ClusterNode, Client[]>> {
  return byNode(cluster, cs, c => c.group);
}

/** Each client's view holds exactly the upstream rows (ids, values, applied counts). */
async function allMatchUpstream(among: readonly Client[]) {
  const want = await upstreamEntries(db);
  for (const c of among) {
    await vi.waitFor(
      () => expect([...c.view.data].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(want),
      LONG,
    );
  }
  return want;
}

/** Nothing applied twice, and every client's last mutation id is the number it made. */
async function noneLostOrTwice() {
  const rows = await upstreamEntries(db);
  expect(rows.filter(r => r.applied !== 1)).toEqual([]);
  for (const c of clients) {
    expect(rows.filter(r => r.client === c.z.clientID).length).toBe(c.mutations);
  }
  const lmids = await db.query<{clientID: string; lastMutationID: string}>(
    `SELECT "clientID", "lastMutationID" FROM "zync_${cluster.appId}".clients`,
  );
  const byClient = new Map(lmids.rows.map(r => [r.clientID, Number(r.lastMutationID)]));
  for (const c of clients) expect(byClient.get(c.z.clientID) ?? 0).toBe(c.mutations);
}

/** Upstream inserts, one at a time every ~20 ms, until stopped. */
function upstreamWriter(prefix: string) {
  const written: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const id = `${prefix}-${String(i).padStart(5, '0')}`;
      await db.query(`INSERT INTO entry (id, client, n) VALUES ($1, 'upstream', $2)`, [id, i]);
      written.push(id);
      await new Promise(r => setTimeout(r, 20)); // the write rate, not a wait for a condition
    }
  })();
  return {
    written,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Each client makes `count` CRUD inserts, one after another, each awaited to the server. */
function mutators(among: readonly Client[], count: number, tag: string) {
  return Promise.all(
    among.map(async c => {
      for (let i = 0; i < count; i++) {
        const id = `${tag}-${c.z.clientID}-${i}`;
        const r = await c.z.mutate.entry.insert({id, client: c.z.clientID, n: i, applied: 0})
          .server;
        expect(r).toEqual({type: 'success'});
        c.mutations++;
      }
    }),
  );
}

test('a view-syncer SIGKILLed while writes flow: its clients move through HAProxy, complete again, nothing lost or applied twice', async () => {
  // Groups until every view-syncer holds at least two (HAProxy hashes clientGroupID).
  const t0 = performance.now();
  for (let i = 0; i < 48; i++) {
    await Promise.all([openGroup(2), openGroup(1)]);
    const by = await nodesOf(clients);
    if (i >= 5 && by.size === 3 && [...by.values()].every(cs => cs.length >= 4)) break;
  }
  figures['clients connected (all complete)'] = clients.length;
  figures['groups'] = new Set(clients.map(c => c.group)).size;
  figures['connect all clients through HAProxy, ms'] = performance.now() - t0;
  const byNode = await nodesOf(clients);
  expect(byNode.size).toBe(3);
  const [victim, moved] = [...byNode.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
  figures['clients on the killed node'] = moved.length;

  const writer = upstreamWriter('up-a');
  const PER_CLIENT = 8;
  const mutating = mutators(clients, PER_CLIENT, 'a');
  // Writes are flowing: some upstream rows and some mutations of the victim's clients done.
  await vi.waitFor(() => {
    expect(writer.written.length).toBeGreaterThan(3);
    expect(moved.every(c => c.mutations >= 2)).toBe(true);
  }, LONG);
  const killedAt = performance.now();
  await victim.kill();
  const marker = 'after-kill';
  await db.query(`INSERT INTO entry (id, client, n) VALUES ($1, 'upstream', 0)`, [marker]);
  // Complete again: online, served by another node, showing a row written after the kill.
  await Promise.all(
    moved.map(c =>
      vi.waitFor(() => {
        expect(c.z.online).toBe(true);
        expect(c.view.data.some(r => r.id === marker)).toBe(true);
      }, LONG),
    ),
  );
  figures['SIGKILL to every moved client complete again, ms'] = performance.now() - killedAt;
  await mutating;
  await writer.stop();
  figures['upstream rows written during the kill test'] = writer.written.length;
  figures['moved clients whose view ever showed fewer rows'] = moved.filter(c => c.shrank).length;
  for (const [node, cs] of await nodesOf(moved)) {
    expect(node).not.toBe(victim);
    expect(node.running()).toBe(true);
    expect(cs.length).toBeGreaterThan(0);
  }
  const t1 = performance.now();
  const rows = await allMatchUpstream(clients);
  figures['after the writes stopped, every client equal to upstream, ms'] = performance.now() - t1;
  expect(rows.filter(r => r.id.startsWith('up-a-')).map(r => r.id)).toEqual(writer.written);
  await noneLostOrTwice();
});

test('a new view-syncer joins while writes flow: snapshot plus catch-up, its clients see every row', async () => {
  const writer = upstreamWriter('up-c');
  await vi.waitFor(() => expect(writer.written.length).toBeGreaterThan(3), LONG);
  const before = writer.written.length;
  const t0 = performance.now();
  const joined = await cluster.addViewSyncer();
  figures['new view-syncer: start to serving (HAProxy UP), ms'] = performance.now() - t0;
  const duringJoin = writer.written.slice(before);
  figures['upstream rows written during the join'] = duringJoin.length;
  // Groups until some land on the new node, while the writer keeps going.
  const mine: Client[] = [];
  for (let i = 0; i < 32 && mine.length < 2; i++) {
    for (const c of await openGroup(1)) if (await joined.holds(c.group)) mine.push(c);
  }
  expect(mine.length).toBeGreaterThan(0);
  await mutators(mine, 3, 'c');
  await writer.stop();
  expect(duringJoin.length).toBeGreaterThan(0);
  const rows = await allMatchUpstream(mine);
  const ids = new Set(rows.map(r => r.id));
  for (const id of writer.written) expect(ids.has(id)).toBe(true);
  await allMatchUpstream(clients);
  await noneLostOrTwice();
});

test('Postgres restarted under the running nodes: clients keep their data, later writes reach every node', async () => {
  const running = cluster.viewSyncers.filter(n => n.running());
  const byNode = await nodesOf(clients);
  expect(byNode.size).toBe(running.length);
  const before = await upstreamEntries(db);
  for (const c of clients) c.shrank = 0;
  await db.end();
  const t0 = performance.now();
  const oldPid = server.pid;
  await server.stop();
  // A CRUD mutation of one client per node made while Postgres is down: applied once, later.
  const whileDown = [...byNode.values()].map(cs => cs[0]!);
  const pending = whileDown.map(
    c =>
      c.z.mutate.entry.insert({id: `down-${c.z.clientID}`, client: c.z.clientID, n: 0, applied: 0})
        .server,
  );
  server = await startEmbeddedPostgres({port: pgPort, dataDir: pgDir, flags: PG_FLAGS});
  expect(server.pid).not.toBe(oldPid);
  figures['Postgres stop and start, ms'] = performance.now() - t0;
  db = await connectDb();
  const tp = performance.now();
  for (const r of await Promise.all(pending)) expect(r).toEqual({type: 'success'});
  for (const c of whileDown) c.mutations++;
  figures['Postgres up to the mutations made while down confirmed, ms'] = performance.now() - tp;
  const t1 = performance.now();
  await db.query(`INSERT INTO entry (id, client, n) VALUES ('after-pg-restart', 'upstream', 1)`);
  await Promise.all(
    clients.map(c =>
      vi.waitFor(() => expect(c.view.data.some(r => r.id === 'after-pg-restart')).toBe(true), LONG),
    ),
  );
  figures['Postgres up to an upstream write on every client, ms'] = performance.now() - t1;
  // One client per node mutates; every client of every node sees every row.
  const t2 = performance.now();
  await mutators(
    [...byNode.values()].map(cs => cs[0]!),
    2,
    'b',
  );
  figures['Postgres restart: a CRUD mutation per node, ms'] = performance.now() - t2;
  const rows = await allMatchUpstream(clients);
  expect(rows.length).toBe(before.length + 1 + 3 * byNode.size);
  await noneLostOrTwice();
  // Clients kept their data throughout: no view ever showed fewer rows than it had.
  expect(clients.filter(c => c.shrank > 0).map(c => c.z.clientID)).toEqual([]);
});
