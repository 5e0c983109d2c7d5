// The end-to-end scenarios. Each returns plain data (figures) that the report turns into
// tables and charts; each prints its figures as it goes.
import type pg from 'pg';
import type {Schema} from '@zync/zql';
import type {Client, View} from './clients.ts';
import {complete, newClient, sizedTable, when} from './clients.ts';
import type {ZeroCacheProcess} from './harness.ts';
import {sleep} from './harness.ts';
import type {Figure} from './stats.ts';
import {figure, percentile, show} from './stats.ts';

export type Ctx = {
  db: pg.Client;
  zc: ZeroCacheProcess;
  schema: Schema;
  sizes: readonly number[];
  runs: number;
};

async function closeAll(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map(c => c.close()));
}

/** RSS sampled `n` times, `everyMs` apart. */
export async function rssSample(zc: ZeroCacheProcess, n = 5, everyMs = 400): Promise<Figure> {
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i) await sleep(everyMs);
    v.push(zc.rssMiB());
  }
  return figure(v);
}

/**
 * Waits until the previous run's background work is done. A large hydration is followed
 * by its CVR write, which zero-cache starts a second later (largeCVRWriteDelayMs), so
 * this waits 1.5 s, then until zero-cache's CPU time stands still for 300 ms while
 * Postgres has no other session in a query or a transaction. At most 15 s.
 */
export async function settle(ctx: Ctx): Promise<void> {
  await sleep(1500);
  const deadline = performance.now() + 13_500;
  while (performance.now() < deadline) {
    const c0 = ctx.zc.cpuMs();
    await sleep(300);
    const busy = ctx.zc.cpuMs() - c0;
    const {rows} = await ctx.db.query<{n: string}>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE state <> 'idle'
         AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    if (busy <= 10 && rows[0]?.n === '0') return;
  }
}

// 1. Initial sync ------------------------------------------------------------------------

export type InitialSync = {rows: number; ms: Figure; rssAfterMiB: Figure}[];

export async function initialSync(ctx: Ctx): Promise<InitialSync> {
  const out: InitialSync = [];
  for (const rows of ctx.sizes) {
    const ms: number[] = [];
    const rss: number[] = [];
    // One discarded warm-up run per size: the first sync after start also pays for
    // compiling the hot paths and for SQLite's first read of the table.
    for (let r = -1; r < ctx.runs; r++) {
      // Each run starts on a quiet server: the previous client's CVR write is its own work.
      await settle(ctx);
      const t0 = performance.now();
      const z = newClient(ctx.zc.url, ctx.schema, 'sync');
      const data = await z.run(z.query[sizedTable(rows)]!, {type: 'complete'});
      const elapsed = performance.now() - t0;
      if (data.length !== rows) throw new Error(`got ${data.length} rows, want ${rows}`);
      if (r >= 0) {
        ms.push(elapsed);
        rss.push(ctx.zc.rssMiB());
      }
      await z.close();
    }
    const f = {rows, ms: figure(ms), rssAfterMiB: figure(rss)};
    out.push(f);
    console.log(
      `initial sync ${rows.toLocaleString('en')} rows: ${show(f.ms, 'ms')}; server RSS after ${show(f.rssAfterMiB, 'MiB')}`,
    );
  }
  return out;
}

// 2. Write latency -----------------------------------------------------------------------

export type WriteLatency = {
  writes: number;
  p50: Figure;
  p90: Figure;
  p99: Figure;
  fromSend50: Figure;
};

export async function writeLatency(ctx: Ctx, writes = 200): Promise<WriteLatency> {
  const p50: number[] = [];
  const p90: number[] = [];
  const p99: number[] = [];
  const send50: number[] = [];
  for (let r = 0; r < ctx.runs; r++) {
    const z = newClient(ctx.zc.url, ctx.schema, 'lat');
    const view = z.query['hot']!.where('id', 1).materialize();
    await complete(view);
    const lat: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < writes; i++) {
      const v = r * 100_000 + i + 1;
      const seen = when(view, d => d[0]?.['v'] === v);
      const t0 = performance.now();
      await ctx.db.query('UPDATE hot SET v = $1 WHERE id = 1', [v]);
      const committed = performance.now();
      const t = await seen;
      lat.push(t - committed);
      total.push(t - t0);
    }
    p50.push(percentile(lat, 50));
    p90.push(percentile(lat, 90));
    p99.push(percentile(lat, 99));
    send50.push(percentile(total, 50));
    view.destroy();
    await z.close();
  }
  const out = {
    writes,
    p50: figure(p50),
    p90: figure(p90),
    p99: figure(p99),
    fromSend50: figure(send50),
  };
  console.log(
    `write latency (commit acknowledged -> client view, ${writes} writes): p50 ${show(out.p50, 'ms')}, p90 ${show(out.p90, 'ms')}, p99 ${show(out.p99, 'ms')}; from sending the UPDATE p50 ${show(out.fromSend50, 'ms')}`,
  );
  return out;
}

// 3. Fan-out -----------------------------------------------------------------------------

export type FanOut = {
  clients: number;
  rowsEach: number;
  syncMs: Figure;
  writeAllMs: Figure;
  rssMiB: Figure;
};

export async function fanOut(
  ctx: Ctx,
  clients = 50,
  rowsEach = 1000,
  writes = 20,
): Promise<FanOut> {
  const sync: number[] = [];
  const writeAll: number[] = [];
  const rss: number[] = [];
  for (let r = 0; r < ctx.runs; r++) {
    const t0 = performance.now();
    const zs = Array.from({length: clients}, () => newClient(ctx.zc.url, ctx.schema, 'fan'));
    const owned = zs.map((z, i) => z.query['fan']!.where('owner', i).materialize());
    const hot = zs.map(z => z.query['hot']!.where('id', 2).materialize());
    await Promise.all(owned.map(complete));
    sync.push(performance.now() - t0);
    for (const [i, v] of owned.entries()) {
      if (v.data.length !== rowsEach) throw new Error(`client ${i}: ${v.data.length} rows`);
    }
    await Promise.all(hot.map(complete));
    rss.push(ctx.zc.rssMiB());
    // The writes measure steady state: the 50 groups' CVR writes after their hydration
    // (50k rows) are done first.
    await settle(ctx);
    // Steady state: the first writes after 50 fresh hydrations run cold code in both
    // processes (10-15 ms for the first ~30 writes, 4-7 ms after); 20 are not measured.
    writeAll.push(...(await fanWrites(ctx, hot, 2, writes, r, 20)));
    await closeAll(zs);
  }
  const out = {
    clients,
    rowsEach,
    syncMs: figure(sync),
    writeAllMs: figure(writeAll),
    rssMiB: figure(rss),
  };
  console.log(
    `fan-out: ${clients} clients x ${rowsEach} own rows complete in ${show(out.syncMs, 'ms')}; one write visible to all ${show(out.writeAllMs, 'ms')} (${writes} writes x ${ctx.runs} runs, after 20 unmeasured); server RSS ${show(out.rssMiB, 'MiB')}`,
  );
  return out;
}

/** Writes `hot[id]` `n` times; for each, ms from commit until every view shows it. */
/**
 * `n` writes of one row that every view shows; returns, per write, the time from the
 * commit's acknowledgement until the last view shows it. The first `warmup` writes are
 * not measured.
 */
async function fanWrites(
  ctx: Ctx,
  views: readonly View[],
  id: number,
  n: number,
  run: number,
  warmup = 0,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = -warmup; i < n; i++) {
    const v = (run + 1) * 1_000_000 + warmup + i;
    const seen = views.map(view => when(view, d => d[0]?.['v'] === v));
    await ctx.db.query('UPDATE hot SET v = $1 WHERE id = $2', [v, id]);
    const committed = performance.now();
    const times = await Promise.all(seen);
    if (i >= 0) out.push(Math.max(...times) - committed);
    await sleep(20);
  }
  return out;
}

// 4. Mutations ---------------------------------------------------------------------------

export type Mutations = {
  crudP50: Figure;
  customP50: Figure;
  customCold: Figure;
  localP50: Figure;
  throughputPerSec: Figure;
  throughputClients: number;
  throughputEach: number;
};

export async function mutations(
  ctx: Ctx,
  n = 100,
  tpClients = 10,
  tpEach = 300,
): Promise<Mutations> {
  const crud: number[] = [];
  const custom: number[] = [];
  const cold: number[] = [];
  const local: number[] = [];
  const tput: number[] = [];
  for (let r = 0; r < ctx.runs; r++) {
    const id = `m-${r}`;
    await ctx.db.query(
      `INSERT INTO item VALUES ($1, 'bench', 0) ON CONFLICT (id) DO UPDATE SET votes = 0`,
      [id],
    );
    const z = newClient(ctx.zc.url, ctx.schema, 'mut');
    const view = z.query['item']!.where('id', id).materialize();
    await complete(view);
    await when(view, d => d.length === 1);
    // Custom first, so that the first one is cold (the API server's first push of this group).
    const customSamples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const res = await z.mutate.ops.bump({id}).server;
      if (res.type !== 'success') throw new Error(`custom mutation: ${JSON.stringify(res)}`);
      customSamples.push(performance.now() - t0);
    }
    cold.push(customSamples[0]!);
    custom.push(percentile(customSamples.slice(1), 50));
    const crudSamples: number[] = [];
    const localSamples: number[] = [];
    for (let i = 0; i < n; i++) {
      const votes = 10_000 + i;
      const shown = when(view, d => d[0]?.['votes'] === votes);
      const t0 = performance.now();
      const m = z.mutate['item']!.update({id, votes});
      localSamples.push((await shown) - t0);
      const res = await m.server;
      if (res.type !== 'success') throw new Error(`CRUD mutation: ${JSON.stringify(res)}`);
      crudSamples.push(performance.now() - t0);
    }
    crud.push(percentile(crudSamples, 50));
    local.push(percentile(localSamples, 50));
    view.destroy();
    await z.close();

    // Sustained CRUD: every client fires its inserts at once; count confirmed mutations.
    const zs = Array.from({length: tpClients}, () => newClient(ctx.zc.url, ctx.schema, 'tp'));
    const views = zs.map((c, k) => c.query['item']!.where('id', `tp-${r}-${k}-0`).materialize());
    await Promise.all(views.map(complete));
    const t0 = performance.now();
    const results = zs.flatMap((c, k) =>
      Array.from(
        {length: tpEach},
        (_, i) => c.mutate['item']!.insert({id: `tp-${r}-${k}-${i}`, title: 't', votes: i}).server,
      ),
    );
    const done = await Promise.all(results);
    const ms = performance.now() - t0;
    const failed = done.filter(x => x.type !== 'success').length;
    if (failed) throw new Error(`${failed} throughput mutations failed`);
    tput.push((tpClients * tpEach * 1000) / ms);
    await closeAll(zs);
  }
  const out = {
    crudP50: figure(crud),
    customP50: figure(custom),
    customCold: figure(cold),
    localP50: figure(local),
    throughputPerSec: figure(tput),
    throughputClients: tpClients,
    throughputEach: tpEach,
  };
  console.log(
    `mutation round trip (mutate -> server confirmed, p50 of ${n}): CRUD ${show(out.crudP50, 'ms')}, custom ${show(out.customP50, 'ms')} (first, cold: ${show(out.customCold, 'ms')}); local mutate -> view ${show(out.localP50, 'ms')}`,
  );
  console.log(
    `sustained CRUD: ${tpClients} clients x ${tpEach} inserts, ${show(out.throughputPerSec, 'mutations/s')} confirmed`,
  );
  return out;
}

// 5. Memory ------------------------------------------------------------------------------

/**
 * `clients` clients, one after another, each syncing all `rows` rows and leaving. Returns
 * the server's RSS right after the first sync (one group of `rows` rows on a fresh
 * process: "RSS after a 100k sync").
 */
export async function churn(ctx: Ctx, rows: number, clients = 7): Promise<Figure> {
  let afterFirst: Figure | undefined;
  for (let i = 0; i < clients; i++) {
    const z = newClient(ctx.zc.url, ctx.schema, 'churn');
    await z.run(z.query[sizedTable(rows)]!, {type: 'complete'});
    if (i === 0) afterFirst = await rssSample(ctx.zc, 3, 200);
    await z.close();
  }
  return afterFirst ?? figure([]);
}

// 6. Scale sweep -------------------------------------------------------------------------

export type SweepPoint = {
  clients: number;
  connectMs: Figure;
  idleCpuPct: Figure;
  writeCpuMsPerWrite: Figure;
  rssPerClientKiB: Figure;
  rssMiB: Figure;
  writeAllMs: Figure;
};

export async function sweep(
  ctx: Ctx,
  counts: readonly number[],
  idleRssMiB: number,
  writes = 10,
): Promise<SweepPoint[]> {
  const out: SweepPoint[] = [];
  for (const n of counts) {
    const connect: number[] = [];
    const cpu: number[] = [];
    const wcpu: number[] = [];
    const perClient: number[] = [];
    const rss: number[] = [];
    const writeAll: number[] = [];
    const runs = n >= 500 ? Math.min(ctx.runs, 2) : ctx.runs;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const zs = Array.from({length: n}, () => newClient(ctx.zc.url, ctx.schema, 'sweep'));
      const small = zs.map((z, i) =>
        z.query['fan']!.where('owner', i % 50)
          .limit(5)
          .materialize(),
      );
      const hot = zs.map(z => z.query['hot']!.where('id', 3).materialize());
      await Promise.all([...small, ...hot].map(complete));
      connect.push(performance.now() - t0);
      await sleep(1000);
      const c0 = ctx.zc.cpuMs();
      const w0 = performance.now();
      await sleep(3000);
      cpu.push(((ctx.zc.cpuMs() - c0) * 100) / (performance.now() - w0));
      const m = ctx.zc.rssMiB();
      rss.push(m);
      perClient.push(((m - idleRssMiB) * 1024) / n);
      const c1 = ctx.zc.cpuMs();
      writeAll.push(...(await fanWrites(ctx, hot, 3, writes, r)));
      wcpu.push((ctx.zc.cpuMs() - c1) / writes);
      await closeAll(zs);
      await sleep(500);
    }
    const p = {
      clients: n,
      connectMs: figure(connect),
      idleCpuPct: figure(cpu),
      writeCpuMsPerWrite: figure(wcpu),
      rssPerClientKiB: figure(perClient),
      rssMiB: figure(rss),
      writeAllMs: figure(writeAll),
    };
    out.push(p);
    console.log(
      `sweep ${n} clients: all complete in ${show(p.connectMs, 'ms')}; idle server CPU ${show(p.idleCpuPct, '% of a core')}; RSS ${show(p.rssMiB, 'MiB')} = ${show(p.rssPerClientKiB, 'KiB/client')} over idle; write visible to all ${show(p.writeAllMs, 'ms')}, server CPU ${show(p.writeCpuMsPerWrite, 'ms/write')}`,
    );
  }
  return out;
}
