// A view syncer's first step: a replica snapshot from the replication manager over loopback.
// A replica of BENCH_ROWS (1,000,000) rows in an issues-like table of five columns, written
// with the replica's own schema helpers; then BENCH_RUNS (3) downloads, each reported as
// the server's copy (VACUUM INTO in a worker thread, plus the sha256 of the copy), the time
// until the body is on the follower's disk (copy included) and the check of the download
// (sha256 while streaming, then opening it as a replica and reading its version).
// Run: npm run bench -- snapshot.
import {mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {createLogger} from '@zync/shared';
import {downloadSnapshot} from '../packages/cache/src/change-db/snapshot-client.ts';
import {startSnapshotServer} from '../packages/cache/src/change-db/snapshot-server.ts';
import {
  createInternalTables,
  writeInitialState,
  writeTableMetadata,
} from '../packages/cache/src/replica/replica-schema.ts';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const SECRET = 'bench-secret';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (n: number) => (n / 2 ** 20).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'snapshot-bench-'));
try {
  const replicaFile = join(dir, 'replica.db');
  const t0 = performance.now();
  const db = new Database(replicaFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  createInternalTables(db);
  db.exec(
    `CREATE TABLE issue (id TEXT, title TEXT, status TEXT, priority INTEGER, created INTEGER, PRIMARY KEY (id))`,
  );
  writeTableMetadata(
    db,
    'issue',
    1,
    [
      {name: 'id', pgType: 'text'},
      {name: 'title', pgType: 'text'},
      {name: 'status', pgType: 'text'},
      {name: 'priority', pgType: 'int4'},
      {name: 'created', pgType: 'int8'},
    ],
    ['id'],
  );
  const version = '0000000001000000';
  writeInitialState(db, {
    version,
    lsn: '0/1000000',
    changelogFloor: version,
    appId: 'bench',
    publication: 'p',
    slot: 's',
    initialVersion: version,
  });
  const ins = db.prepare(`INSERT INTO issue VALUES (?, ?, ?, ?, ?)`);
  const statuses = ['open', 'closed', 'in-progress', 'blocked'];
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      ins.run(
        `issue-${i.toString().padStart(7, '0')}`,
        `Issue number ${i}: something to look at`,
        statuses[i % 4],
        i % 5,
        1_700_000_000_000 + i,
      );
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  console.log(
    `replica: ${ROWS} rows, ${mib(statSync(replicaFile).size)} MiB, built in ${(
      (performance.now() - t0) /
      1000
    ).toFixed(1)} s`,
  );

  // Figures come from the server's and the client's own log lines.
  const figures: Record<string, number> = {};
  const lc = createLogger('info', (_level, _msg, ctx) => {
    for (const k of ['copyMs', 'receivedMs', 'verifyMs', 'bytes']) {
      const v = ctx[k];
      if (typeof v === 'number') figures[k] = v;
    }
  });
  const server = await startSnapshotServer({
    replicaFile,
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    lc,
  });
  const copy: number[] = [];
  const total: number[] = [];
  const verify: number[] = [];
  let bytes = 0;
  try {
    for (let run = 0; run < RUNS; run++) {
      const toFile = join(dir, 'follower.db.snapshot');
      const start = performance.now();
      const res = await downloadSnapshot({
        uri: `http://127.0.0.1:${server.port}`,
        secret: SECRET,
        toFile,
        lc,
      });
      const all = performance.now() - start;
      if (res.version !== version) throw new Error('the snapshot has another version');
      bytes = res.bytes;
      copy.push(figures['copyMs']!);
      verify.push(figures['verifyMs']!);
      total.push(all);
      console.log(
        `run ${run}: ${mib(res.bytes)} MiB; server copy + sha256 ${figures['copyMs']} ms, ` +
          `on the follower's disk after ${figures['receivedMs']} ms, verify ` +
          `${figures['verifyMs']} ms, total ${all.toFixed(0)} ms`,
      );
      rmSync(toFile, {force: true});
    }
  } finally {
    await server.close();
  }
  const t = median(total);
  console.log(
    `median of ${RUNS}, ${ROWS} rows (${mib(bytes)} MiB): copy ${median(copy)} ms, verify ` +
      `${median(verify)} ms, total ${t.toFixed(0)} ms (${(bytes / 2 ** 20 / (t / 1000)).toFixed(0)} MiB/s end to end)`,
  );
} finally {
  rmSync(dir, {recursive: true, force: true});
}
