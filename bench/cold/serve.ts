// Starts the cold benchmark's Postgres (seeded) and zero-cache and keeps them running, for
// profiling a cold client by hand:
//
//   node --conditions=zync-source --import tsx bench/cold/serve.ts &
//   node --cpu-prof <bundled client.mjs> <url printed> 100000
//
// Also writes the bundled client (path printed). Ctrl-C stops everything.
import {join} from 'node:path';
import pg from 'pg';
import {sizedTable} from '../e2e/clients.ts';
import {startPostgres, startZeroCache, stopAll} from '../e2e/harness.ts';
import {bundleClient} from './runners.ts';

const sizes = (process.env['BENCH_SIZES'] ?? '10000,100000').split(',').map(Number);
const pgServer = await startPostgres();
const db = new pg.Client({connectionString: pgServer.url});
await db.connect();
for (const n of sizes) {
  await db.query(`CREATE TABLE ${sizedTable(n)} (id int PRIMARY KEY, owner int NOT NULL,
    title text NOT NULL, score float8 NOT NULL)`);
  await db.query(`INSERT INTO ${sizedTable(n)} SELECT g, g % 100, 'row title ' || g,
    g * 0.5 FROM generate_series(1, ${n}) g`);
}
await db.end();
const zc = await startZeroCache({
  upstreamUrl: pgServer.url,
  replicaFile: join(pgServer.dir, 'replica.db'),
  appId: 'cold',
});
console.log(`zero-cache ${zc.url}`);
console.log(`client ${await bundleClient()}`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void stopAll().finally(() => process.exit(0)));
}
