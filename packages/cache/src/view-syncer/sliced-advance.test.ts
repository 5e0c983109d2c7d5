// An advance over the SQLite snapshotter pushes a large transaction in time slices: the
// event loop is given back while it runs, another group's driver advances and reports a
// later write meanwhile, and the sliced advance reports exactly what one pass reports.
// Slices are cut by a clock that counts its readings, so the slicing is the same on any
// machine.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, expect, test} from 'vitest';
import type {AST} from '@zync/protocol';
import {stableStringify} from '@zync/shared';
import {EngineQueryDriver} from './engine-query-driver.ts';
import {snapshotterFactory, type SnapshotterFactory} from '../sqlite-engine/snapshotter.ts';
import {
  applyChanges,
  countingClock,
  keyed,
  replicaState,
  withComments,
} from '../../test/sync/sliced-work.ts';
import {TestReplica, type TestChange} from '../../test/sqlite-test-replica.ts';

const ISSUES = 4_000;

let dir: string;
let replica: TestReplica;
let snapshots: SnapshotterFactory;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zync-sliced-advance-'));
  replica = new TestReplica(join(dir, 'replica.db'), [
    {name: 'issue', columns: {id: 'int4', title: 'text'}, primaryKey: ['id']},
    {name: 'comment', columns: {id: 'text', issue_id: 'int4'}, primaryKey: ['id']},
    {name: 'label', columns: {id: 'int4', name: 'text'}, primaryKey: ['id']},
  ]);
  replica.db.transaction(() => {
    const i = replica.db.prepare(`INSERT INTO issue (id, title) VALUES (?, ?)`);
    const c = replica.db.prepare(`INSERT INTO comment (id, issue_id) VALUES (?, ?)`);
    for (let k = 0; k < ISSUES; k++) {
      i.run(k, `issue ${k}`);
      c.run(`c${k}`, k);
    }
  })();
  replica.db.exec(`CREATE INDEX comment_issue ON comment (issue_id)`);
  snapshots = snapshotterFactory(replica.file);
});

afterAll(() => {
  snapshots.close();
  replica.db.close();
  rmSync(dir, {recursive: true, force: true});
});

/** A slice is this many looks at the counting clock. */
const SLICE = 8;
/** A slice's looks, plus the look that starts it and the one that ends it. */
const MOST_LOOKS_PER_TURN = SLICE + 2;

/** Drivers share the pool of pinned connections and the change-log cache, as groups do. */
const open = (sliceMs = SLICE, clock = countingClock()) =>
  new EngineQueryDriver(batcher => snapshots.open(batcher), {sliceMs, sliceClock: clock.now});

const labels: AST = {kind: 'query', table: 'label'};

/** One transaction of 12,000 changes: every issue edited, half the comments moved or gone, new ones. */
function bigTransaction(): {table: string; change: TestChange}[] {
  const out: {table: string; change: TestChange}[] = [];
  for (let k = 0; k < ISSUES; k++) {
    out.push({
      table: 'issue',
      change: {type: 'edit', oldRow: {id: k, title: `issue ${k}`}, row: {id: k, title: `#${k}`}},
    });
  }
  for (let k = 0; k < ISSUES; k += 2) {
    const row = {id: `c${k}`, issue_id: k};
    out.push({
      table: 'comment',
      change:
        k % 4 === 0
          ? {type: 'remove', row}
          : {type: 'edit', oldRow: row, row: {id: `c${k}`, issue_id: k + 1}},
    });
  }
  for (let k = 0; k < ISSUES; k++) {
    out.push({table: 'comment', change: {type: 'add', row: {id: `n${k}`, issue_id: k}}});
  }
  return out;
}

test('a large advance yields while other groups advance; its result is the one-pass result', async () => {
  const clock = countingClock();
  const big = open(SLICE, clock);
  const onePass = open(Infinity);
  const other = open();
  try {
    const held = keyed(await big.addQuery('all', withComments));
    await onePass.addQuery('all', withComments);
    expect([...(await other.addQuery('labels', labels))]).toEqual([]);

    replica.apply(bigTransaction());
    const result = await clock.during(async () => {
      const advancing = big.advance();
      // 12,000 changes through a join take far more than one slice.
      expect(advancing).toBeInstanceOf(Promise);
      let settled = false;
      void Promise.resolve(advancing).then(() => (settled = true));

      // Meanwhile another group's driver advances past the big transaction and a later write.
      replica.apply([{table: 'label', change: {type: 'add', row: {id: 1, name: 'bug'}}}]);
      const otherResult = await other.advance();
      expect(otherResult.changes.get('labels')).toEqual([
        {type: 'add', table: 'label', id: {id: 1}, row: {id: 1, name: 'bug'}},
      ]);
      expect(settled).toBe(false);
      return advancing;
    });
    // No turn of the event loop did more than one slice of the work (in one pass it all
    // runs in one turn), so it was spread over many turns.
    expect(clock.most()).toBeLessThanOrEqual(MOST_LOOKS_PER_TURN);
    expect(clock.looks()).toBeGreaterThan(10 * MOST_LOOKS_PER_TURN);

    // The same changes as one pass, and the client's rows end equal to the replica's.
    const reference = await onePass.advance();
    expect(stableStringify(result.changes.get('all'))).toBe(
      stableStringify(reference.changes.get('all')),
    );
    applyChanges(held, result.changes.get('all') ?? []);
    expect(held).toEqual(replicaState(replica));
  } finally {
    big.destroy();
    onePass.destroy();
    other.destroy();
  }
});

test('an advance and a hydration asked for during a sliced advance wait for it', async () => {
  const d = open();
  try {
    const held = keyed(await d.addQuery('all', withComments));
    // Nothing to advance over: once this settles the driver has nothing in flight.
    expect((await d.advance()).changes.size).toBe(0);
    const edits = [];
    for (let k = 0; k < ISSUES; k++) {
      edits.push({
        table: 'issue',
        change: {
          type: 'edit' as const,
          oldRow: {id: k},
          row: {id: k, title: `again ${k}`},
        },
      });
    }
    replica.apply(edits);
    const first = d.advance();
    expect(first).toBeInstanceOf(Promise);
    replica.apply([{table: 'comment', change: {type: 'add', row: {id: 'late', issue_id: 3}}}]);
    const second = d.advance();
    const added = d.addQuery('labels', labels);
    expect(second).toBeInstanceOf(Promise);
    expect(added).toBeInstanceOf(Promise);
    applyChanges(held, (await first).changes.get('all') ?? []);
    applyChanges(held, (await second).changes.get('all') ?? []);
    expect(held).toEqual(replicaState(replica));
    const labelRows = replica.db.prepare(`SELECT id, name FROM label`).all() as {id: number}[];
    expect(keyed(await added)).toEqual(
      new Map(labelRows.map(r => [`label/${stableStringify({id: r.id})}`, r])),
    );
  } finally {
    d.destroy();
  }
});
