// A query's hydration over the SQLite snapshotter runs in time slices: the event loop is
// given back while it runs, an advance asked for meanwhile waits for it (one consistent
// snapshot), and a query that reads more than its row budget is refused. Slices are cut
// by a clock that counts its readings, so the slicing is the same on any machine.
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
  countingClock,
  keyed,
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

/** A slice is this many looks at the counting clock; the driver looks every 64 rows. */
const SLICE = 8;
/** A slice's looks, plus the look that starts it and the one that ends it. */
const MOST_LOOKS_PER_TURN = SLICE + 2;

const open = (maxHydrationRows?: number, clock = countingClock()) =>
  new EngineQueryDriver(batcher => new Snapshotter(replica.file, {batcher}), {
    maxHydrationRows,
    sliceMs: SLICE,
    sliceClock: clock.now,
  });

test('a large hydration gives the event loop back and still returns every row', async () => {
  const clock = countingClock();
  const d = open(undefined, clock);
  try {
    const rows = await clock.during(() => {
      const pending = d.addQuery('all', withComments);
      // 60,000 rows take far more than one slice: the rest runs on later turns.
      expect(pending).toBeInstanceOf(Promise);
      return pending;
    });
    expect(keyed(rows)).toEqual(replicaState(replica));
    // No turn of the event loop did more than one slice of the work (in one pass it all
    // runs in one turn), so it was spread over many turns.
    expect(clock.most()).toBeLessThanOrEqual(MOST_LOOKS_PER_TURN);
    expect(clock.looks()).toBeGreaterThan(100 * MOST_LOOKS_PER_TURN);
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
