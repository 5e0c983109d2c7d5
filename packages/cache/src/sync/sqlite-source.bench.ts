// Hydration over a 100k-row replica table through SQLiteSource + the engine.
// Usage: npm run bench -- sqlite-source
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {AST} from '@zync/protocol';
import {buildRowSet, materialize} from '@zync/zql/ivm';
import {Snapshotter} from './snapshotter.ts';
import {TestReplica} from './sqlite-test-replica.ts';

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

snapshotter.destroy();
replica.close();
rmSync(dir, {recursive: true, force: true});
