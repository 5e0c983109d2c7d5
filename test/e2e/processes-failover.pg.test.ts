// zero-cache with a replicator and two sync worker processes, and real Zero clients: a sync
// worker or the replicator killed with SIGKILL loses nothing and applies nothing twice.
import {workerIndexFor} from '@zync/cache';
import pg from 'pg';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {
  createEntryTable,
  entriesView,
  newEntryZero,
  upstreamEntries,
  type EntryZero,
} from '../entry-table.ts';
import {createTestDatabase} from '../pg.ts';
import {startProcesses, type StartedProcesses} from './processes.ts';

let db: pg.Client;
let opened = 0;

/** A client of its own group (clients of one user share a group in one process). */
function newZero(): EntryZero {
  const z = newEntryZero(zc.url, `u${opened++}`);
  zeros.push(z);
  return z;
}
let zc: StartedProcesses;
const zeros: EntryZero[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('procs_failover');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await createEntryTable(db);
  zc = await startProcesses(url, {workers: 2});
});

afterAll(async () => {
  for (const z of zeros) await z.close();
  await zc?.stop();
  await db?.end();
});

/** Opens clients until each worker serves at least `perWorker` of them. */
async function clientsOnBothWorkers(perWorker: number) {
  const byWorker: EntryZero[][] = [[], []];
  for (let i = 0; i < 64 && byWorker.some(w => w.length < perWorker); i++) {
    const z = newZero();
    byWorker[workerIndexFor(await z.clientGroupID, 2)]!.push(z);
  }
  expect(byWorker.map(w => w.length >= perWorker)).toEqual([true, true]);
  return byWorker;
}

test('a sync worker killed with SIGKILL: its clients reconnect and resume, no mutation lost or applied twice', async () => {
  const [onKilled, onOther] = await clientsOnBothWorkers(2);
  const all = [...onKilled!, ...onOther!];
  const views = all.map(entriesView);
  for (const v of views) await vi.waitFor(() => expect(v.resultType).toBe('complete'));
  const oldPid = zc.pidOf('sync-worker-0');
  const PER_CLIENT = 20;
  const results: Promise<unknown>[] = [];
  const write = (i: number) =>
    all.forEach((z, c) =>
      results.push(
        z.mutate.entry.upsert({id: `k${c}-${i}`, client: `c${c}`, n: i, applied: 0}).server,
      ),
    );
  for (let i = 0; i < PER_CLIENT / 2; i++) write(i);
  process.kill(oldPid, 'SIGKILL');
  for (let i = PER_CLIENT / 2; i < PER_CLIENT; i++) write(i);

  const total = all.length * PER_CLIENT;
  await expect
    .poll(async () => (await upstreamEntries(db)).length, {timeout: 30_000, interval: 100})
    .toBe(total);
  for (const r of await Promise.all(results)) expect(r).toEqual({type: 'success'});
  const rows = await upstreamEntries(db);
  expect(rows.filter(r => r.applied !== 1)).toEqual([]);
  // Every client, on the restarted worker or the other, sees every row.
  for (const v of views) {
    await vi.waitFor(() => expect(v.data.length).toBe(total), {timeout: 30_000});
  }
  expect(zc.pidOf('sync-worker-0')).not.toBe(oldPid);
  expect(zc.logLines.some(l => /restarting it .*proc=sync-worker-0 exit=SIGKILL/.test(l))).toBe(
    true,
  );
  for (const v of views) v.destroy();
});

test('the replicator killed with SIGKILL: workers keep serving, and catch up once it is back', async () => {
  const [a, b] = (await clientsOnBothWorkers(1)).map(w => w[0]!);
  const views = [a!, b!].map(entriesView);
  for (const v of views) await vi.waitFor(() => expect(v.resultType).toBe('complete'));
  let disconnects = 0;
  for (const z of [a!, b!]) {
    z.connection.state.subscribe(s => {
      if (s.name !== 'connected') disconnects++;
    });
  }
  const oldPid = zc.pidOf('replicator');
  process.kill(oldPid, 'SIGKILL');
  // Served while the replicator is down or restarting: a new client hydrates what the
  // workers have, and a write goes upstream.
  const late = newZero();
  const lateView = entriesView(late);
  await vi.waitFor(() => expect(lateView.resultType).toBe('complete'), {timeout: 10_000});
  expect(lateView.data.length).toBeGreaterThan(0);
  const w = a!.mutate.entry.upsert({id: 'after-kill', client: 'a', n: 1, applied: 0});
  expect(await w.server).toEqual({type: 'success'});
  // Once the new replicator streams again, the write reaches clients on both workers.
  for (const v of [...views, lateView]) {
    await vi.waitFor(() => expect(v.data.some(r => r.id === 'after-kill')).toBe(true), {
      timeout: 30_000,
    });
  }
  expect(zc.pidOf('replicator')).not.toBe(oldPid);
  // The clients' sockets were never dropped.
  expect(disconnects).toBe(0);
  const rows = await upstreamEntries(db);
  expect(rows.filter(r => r.applied !== 1)).toEqual([]);
});
