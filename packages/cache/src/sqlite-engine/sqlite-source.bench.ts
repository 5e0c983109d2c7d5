// Hydration over a 100k-row replica table through SQLiteSource + the engine, and the
// snapshot advance of 50 client groups over one write.
// Usage: npm run bench -- sqlite-source
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {AST} from '@zync/protocol';
import {Batcher, buildRowSet, materialize} from '@zync/zql/ivm';
import {Snapshotter, snapshotterFactory} from './snapshotter.ts';
import {TestReplica} from '../../test/sqlite-test-replica.ts';

const ROWS = 100_000;
const RUNS = 7;

const dir = mkdtempSync(join(tmpdir(), 'zync-sqlite-bench-'));
const file = join(dir, 'replica.db');
const replica = new TestReplica(file, [
  {
    name: 'issue',
    columns: {id: 'text', title: 'text', modified: 'float8', priority: 'int4', open: 'bool'},
    primaryKey: ['id'],
  },
  {name: 'hot', columns: {id: 'int4', v: 'int4'}, primaryKey: ['id']},
]);
const ins = replica.db.prepare(
  `INSERT INTO issue (id, title, modified, priority, open) VALUES (?, ?, ?, ?, ?)`,
);
replica.db.transaction(() => {
  for (let i = 0; i < ROWS; i++) {
    ins.run(
      `issue-${i.toString().padStart(6, '0')}`,
      `Title ${(i * 7919) % ROWS}`,
      1_700_000_000_000 + ((i * 104729) % ROWS) * 1000,
      i % 5,
      i % 3 === 0 ? 0 : 1,
    );
  }
})();
// What a replicator mirroring upstream indexes would create (see docs/sqlite-source.md).
replica.db.exec(`CREATE INDEX issue_modified ON issue (modified, id)`);
replica.db.exec(`ANALYZE`);

const snapshotter = new Snapshotter(file);
const ctx = {getSource: (t: string) => snapshotter.getSource(t)};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function measure(name: string, target: number, run: () => number): void {
  const times: number[] = [];
  let n = 0;
  run(); // warm up: statements prepared, pages cached
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    n = run();
    times.push(performance.now() - t0);
  }
  const m = median(times);
  console.log(
    `${name.padEnd(58)} rows=${String(n).padStart(6)}  median ${m.toFixed(2).padStart(8)} ms  (target ≤ ${target} ms) ${m <= target ? 'ok' : 'MISSED'}`,
  );
}

const top100: AST = {kind: 'query', table: 'issue', orderBy: [['modified', 'desc']], limit: 100};
const all: AST = {kind: 'query', table: 'issue'};
const filtered: AST = {
  kind: 'query',
  table: 'issue',
  where: {
    kind: 'simple',
    op: '=',
    left: {kind: 'column', name: 'priority'},
    right: {kind: 'literal', value: 2},
  },
  orderBy: [['modified', 'asc']],
  limit: 100,
};
const unindexed: AST = {kind: 'query', table: 'issue', orderBy: [['title', 'asc']], limit: 100};

const view = (ast: AST) => () => {
  const v = materialize(ast, ctx);
  const n = (v.data as unknown[]).length;
  v.destroy();
  return n;
};
const rowSet = (ast: AST) => () => {
  const r = buildRowSet(ast, ctx);
  const n = r.size;
  r.destroy();
  return n;
};

measure('view: orderBy indexed non-PK column desc, limit 100', 5, view(top100));
measure('row set: orderBy indexed non-PK column desc, limit 100', 5, rowSet(top100));
measure('view: where priority = 2, orderBy indexed column, limit 100', 5, view(filtered));
measure('view: orderBy unindexed column, limit 100 (sorts in SQLite)', 150, view(unindexed));
measure('raw better-sqlite3 iterate, all 100k rows (floor)', 150, () => {
  let n = 0;
  for (const _ of snapshotter.db.prepare('SELECT * FROM issue ORDER BY id').iterate()) n++;
  return n;
});
measure('source fetch only, all 100k rows', 150, () => {
  const input = snapshotter.getSource('issue')!.connect([]);
  let n = 0;
  for (const _ of input.fetch({})) n++;
  input.destroy();
  return n;
});
measure('view: all 100k rows, PK order', 150, view(all));
measure('row set: all 100k rows', 150, rowSet(all));

// Fan-out: 50 client groups (each its own snapshotter and pipelines) see one single-row
// write. Per write: every group advances, pushes the change and commits, one after another.
{
  const GROUPS = 50;
  const WRITES = 200;
  const hot = (id: number, v: number) => ({
    table: 'hot',
    change: {type: 'add' as const, row: {id, v}},
  });
  replica.apply([hot(1, 0), hot(2, 0), hot(3, 0)]);
  const snapshots = snapshotterFactory(file);
  const groups = Array.from({length: GROUPS}, (_, g) => {
    const batcher = new Batcher();
    const s = snapshots.open(batcher);
    const gctx = {getSource: (t: string) => s.getSource(t)};
    const eq = (name: string, value: number) => ({
      kind: 'simple' as const,
      op: '=' as const,
      left: {kind: 'column' as const, name},
      right: {kind: 'literal' as const, value},
    });
    const rowSets = [
      buildRowSet({kind: 'query', table: 'hot', where: eq('id', 2)}, gctx, {batcher}),
      buildRowSet({...filtered, where: eq('priority', g % 5)}, gctx, {batcher}),
    ];
    return {s, batcher, rowSets};
  });
  const times: number[] = [];
  for (let w = 1; w <= WRITES; w++) {
    replica.apply([
      {table: 'hot', change: {type: 'edit', oldRow: {id: 2, v: w - 1}, row: {id: 2, v: w}}},
    ]);
    const t0 = performance.now();
    for (const {s, batcher} of groups) {
      const adv = s.advance();
      if (adv.kind !== 'changes') throw new Error(adv.kind);
      batcher.run(() => {
        for (const {table, change} of adv.changes()) s.getSource(table)?.push(change);
      });
      adv.commit();
    }
    times.push(performance.now() - t0);
  }
  const m = median(times);
  console.log(
    `${`advance ${GROUPS} groups over one write (push + commit)`.padEnd(58)} writes=${String(WRITES).padStart(4)}  median ${m.toFixed(2).padStart(8)} ms  (target ≤ 2 ms) ${m <= 2 ? 'ok' : 'MISSED'}`,
  );
  for (const g of groups) {
    for (const r of g.rowSets) r.destroy();
    g.s.destroy();
  }
  snapshots.close();
}

snapshotter.destroy();
replica.close();
rmSync(dir, {recursive: true, force: true});
