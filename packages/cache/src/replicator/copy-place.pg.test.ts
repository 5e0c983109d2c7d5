import Database from 'better-sqlite3';
import {existsSync, writeFileSync} from 'node:fs';
import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {copyPlace, estimatePublishedRows, IN_PROCESS_COPY_MAX_ROWS} from './copy-plan.ts';
import {Replicator} from './replicator.ts';
import {
  captureLogger,
  catchUp,
  pgClient,
  readReplicaTable,
  tempReplicaFile,
  uniqueAppId,
} from '../../test/replicator-helpers.ts';

const running: Replicator[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

function start(url: string, file: string, lines: string[], inProcessCopyMaxRows?: number) {
  const r = new Replicator({
    upstreamUrl: url,
    replicaFile: file,
    appId: uniqueAppId(),
    lc: captureLogger(lines),
    ...(inProcessCopyMaxRows === undefined ? {} : {inProcessCopyMaxRows}),
  });
  running.push(r);
  void r.run().catch(() => {});
  return r;
}

function journalMode(file: string): string {
  const db = new Database(file, {readonly: true});
  try {
    return db.pragma('journal_mode', {simple: true}) as string;
  } finally {
    db.close();
  }
}

test('the estimate reads the planner statistics, or the size of a never-analyzed table', async () => {
  const url = await createTestDatabase('copy_estimate');
  const c = await pgClient(url);
  await c.query(`CREATE PUBLICATION est_pub FOR ALL TABLES`);
  await c.query(`CREATE TABLE a (id int PRIMARY KEY, s text)`);
  await c.query(`INSERT INTO a SELECT i, 'row ' || i FROM generate_series(1, 30000) i`);
  const before = await estimatePublishedRows(c, 'est_pub');
  // never analyzed: guessed from the size on disk, same order of magnitude
  expect(before).toBeGreaterThan(10_000);
  expect(before).toBeLessThan(100_000);
  await c.query(`ANALYZE a`);
  expect(await estimatePublishedRows(c, 'est_pub')).toBe(30_000);
  expect(copyPlace(30_000)).toBe('in-process');
  expect(copyPlace(IN_PROCESS_COPY_MAX_ROWS + 1)).toBe('child-process');
  await c.end();
});

test.each([
  ['in-process', undefined],
  ['child-process', 0],
] as const)(
  'a copy %s leaves a complete WAL-mode replica and no temporary file',
  async (place, max) => {
    const url = await createTestDatabase(`copy_${place.replace('-', '_')}`);
    const c = await pgClient(url);
    await c.query(`CREATE TABLE t (id int PRIMARY KEY, s text, d timestamptz)`);
    await c.query(
      `INSERT INTO t SELECT i, 'v' || i, '2024-01-01T00:00:00Z'::timestamptz + i * interval '1 s'
       FROM generate_series(1, 5000) i`,
    );
    await c.query(`ANALYZE t`);
    const file = tempReplicaFile();
    // a temporary file left behind by a crashed copy is replaced
    writeFileSync(`${file}.copy`, 'garbage from an interrupted copy');
    const lines: string[] = [];
    const r = start(url, file, lines, max);
    await r.ready;
    expect(lines.join('\n')).toMatch(new RegExp(`initial copy starts.*place=${place}`));
    expect(existsSync(`${file}.copy`)).toBe(false);
    expect(journalMode(file)).toBe('wal');
    const rows = readReplicaTable(file, 't');
    expect(rows.length).toBe(5000);
    expect(rows.find(x => x['id'] === 7)).toEqual({
      id: 7,
      s: 'v7',
      d: Date.UTC(2024, 0, 1, 0, 0, 7),
    });
    await c.query(`INSERT INTO t VALUES (9999, 'new', NULL)`);
    await catchUp(c, r);
    expect(readReplicaTable(file, 't').length).toBe(5001);
    await c.end();
  },
  60_000,
);

test('stopping during a child-process copy leaves neither a replica nor a temporary file', async () => {
  const url = await createTestDatabase('copy_cancel');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE big (id int PRIMARY KEY, s text)`);
  await c.query(`INSERT INTO big SELECT i, repeat('x', 200) FROM generate_series(1, 300000) i`);
  const file = tempReplicaFile();
  const lines: string[] = [];
  const r = start(url, file, lines, 0);
  const deadline = Date.now() + 30_000;
  while (!existsSync(`${file}.copy`)) {
    if (Date.now() > deadline) throw new Error('the copy did not start');
    await new Promise(res => setTimeout(res, 5));
  }
  await r.stop();
  await expect(r.ready).rejects.toThrow();
  expect(existsSync(`${file}.copy`)).toBe(false);
  // the file the replicator opened to look for a state row was removed before the copy
  expect(existsSync(file)).toBe(false);
  await c.end();
}, 60_000);
