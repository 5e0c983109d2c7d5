// A query's hydration over the SQLite snapshotter runs in time slices: the event loop is
// given back while it runs, an advance asked for meanwhile waits for it (one consistent
// snapshot), and a query that reads more than its row budget is refused.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {EngineQueryDriver} from './engine-query-driver.ts';
import {HydrationBudgetError} from './hydration-budget.ts';
import {Snapshotter} from '../sqlite-engine/snapshotter.ts';
import {
  applyChanges,
  keyed,
  longestStall,
  replicaState,
  withComments,
} from '../../test/sync/sliced-work.ts';
import {TestReplica} from '../../test/sqlite-test-replica.ts';

const ISSUES = 20_000;
const COMMENTS_PER_ISSUE = 2;

let dir: string;
let replica: TestReplica;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zync-sliced-'));
  replica = new TestReplica(join(dir, 'replica.db'), [
    {name: 'issue', columns: {id: 'int4', title: 'text'}, primaryKey: ['id']},
    {name: 'comment', columns: {id: 'text', issue_id: 'int4'}, primaryKey: ['id']},
  ]);
  replica.db.transaction(() => {
    const i = replica.db.prepare(`INSERT INTO issue (id, title) VALUES (?, ?)`);
    const c = replica.db.prepare(`INSERT INTO comment (id, issue_id) VALUES (?, ?)`);
    for (let k = 0; k < ISSUES; k++) {
      i.run(k, `issue ${k}`);
      for (let j = 0; j < COMMENTS_PER_ISSUE; j++) c.run(`c${k}-${j}`, k);
    }
  })();
  replica.db.exec(`CREATE INDEX comment_issue ON comment (issue_id)`);
});

afterAll(() => {
  replica.db.close();
  rmSync(dir, {recursive: true, force: true});
});

const open = (maxHydrationRows?: number) =>
  new EngineQueryDriver(batcher => new Snapshotter(replica.file, {batcher}), {maxHydrationRows});

test('a large hydration gives the event loop back and still returns every row', async () => {
  const d = open();
  try {
    const pending = d.addQuery('all', withComments);
    // 60,000 rows take well over one 20 ms slice: the rest runs on later turns.
    expect(pending).toBeInstanceOf(Promise);
    const {value: rows, longest, turns} = await longestStall(pending);
    expect(keyed(rows)).toEqual(replicaState(replica));
    // In one pass this hydration holds the loop for several hundred ms.
    // The loop turned many times during the work. (Slices are cut by time, so a loaded
    // machine gives more turns, not fewer.) The gap bound is loose for the same reason: the
    // OS may pause the whole process; the slices themselves are 20 ms.
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(longest).toBeLessThan(500);
  } finally {
    d.destroy();
  }
});

test('an advance asked for during a hydration waits for it: no torn or duplicated rows', async () => {
  const d = open();
  try {
    const before = replicaState(replica);
    const pending = d.addQuery('all', withComments);
    expect(pending).toBeInstanceOf(Promise);
    // While the hydration is suspended, the replica moves on (edit, delete, insert rows
    // the hydration has not reached yet as well as rows it has).
    const last = ISSUES - 1;
    replica.apply([
      {
        table: 'issue',
        change: {
          type: 'edit',
          oldRow: {id: last, title: `issue ${last}`},
          row: {id: last, title: 'edited'},
        },
      },
      {
        table: 'issue',
        change: {type: 'edit', oldRow: {id: 0, title: 'issue 0'}, row: {id: 0, title: 'first'}},
      },
      {table: 'comment', change: {type: 'remove', row: {id: `c${last}-0`, issue_id: last}}},
      {table: 'comment', change: {type: 'add', row: {id: 'new', issue_id: last}}},
      {table: 'issue', change: {type: 'add', row: {id: ISSUES, title: 'late'}}},
    ]);
    const advanced = d.advance();
    expect(advanced).toBeInstanceOf(Promise);
    const rows = keyed(await pending);
    // The hydration saw the snapshot it started on, whole.
    expect(rows).toEqual(before);
    const result = await advanced;
    applyChanges(rows, result.changes.get('all') ?? []);
    expect(rows).toEqual(replicaState(replica));
  } finally {
    d.destroy();
  }
});

test('a query that reads more rows than its budget is refused; the driver goes on', async () => {
  const d = open(1_000);
  try {
    const refused = (async () => await d.addQuery('all', withComments))();
    await expect(refused).rejects.toBeInstanceOf(HydrationBudgetError);
    await expect(refused).rejects.toThrow(/ZERO_QUERY_MAX_HYDRATION_ROWS/);
    // A query within the budget still hydrates, and advances report only its changes.
    const small: AST = {
      kind: 'query',
      table: 'issue',
      where: {
        kind: 'simple',
        op: '<',
        left: {kind: 'column', name: 'id'},
        right: {kind: 'literal', value: 10},
      },
    };
    expect([...(await d.addQuery('small', small))]).toHaveLength(10);
    replica.apply([
      {table: 'issue', change: {type: 'edit', oldRow: {id: 5}, row: {id: 5, title: 'five'}}},
    ]);
    const result = await d.advance();
    expect([...result.changes.keys()]).toEqual(['small']);
  } finally {
    d.destroy();
  }
});
