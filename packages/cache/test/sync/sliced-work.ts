// Shared by the sliced hydration and advance tests: the issue-with-comments query over a
// TestReplica, the replica's rows keyed as a client holds them, and a counting slice clock.
import type {AST} from '@zync/protocol';
import {stableStringify} from '@zync/shared';
import type {DriverRow, QueryRowChange} from '../../src/view-syncer/query-driver.ts';
import type {TestReplica} from '../sqlite-test-replica.ts';

/** Every issue with its comments. */
export const withComments: AST = {
  kind: 'query',
  table: 'issue',
  related: [
    {
      kind: 'correlated',
      correlation: {parentField: ['id'], childField: ['issue_id']},
      subquery: {kind: 'query', table: 'comment', alias: 'comments'},
    },
  ],
};

/** The replica's issues and comments, keyed as the client would hold them. */
export function replicaState(replica: TestReplica): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const r of replica.db.prepare(`SELECT id, title FROM issue`).all() as {id: number}[]) {
    m.set(`issue/${stableStringify({id: r.id})}`, r);
  }
  for (const r of replica.db.prepare(`SELECT id, issue_id FROM comment`).all() as {
    id: string;
  }[]) {
    m.set(`comment/${stableStringify({id: r.id})}`, r);
  }
  return m;
}

/** Rows keyed by table and id; a duplicate row is an error. */
export function keyed(rows: Iterable<DriverRow>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const r of rows) {
    const k = `${r.table}/${stableStringify(r.id)}`;
    if (m.has(k)) throw new Error(`duplicate row ${k}`);
    m.set(k, r.row);
  }
  return m;
}

/** Applies a query's changes as a client would; an impossible change is an error. */
export function applyChanges(m: Map<string, unknown>, changes: readonly QueryRowChange[]): void {
  for (const c of changes) {
    const k = `${c.table}/${stableStringify(c.id)}`;
    if (c.type === 'remove') {
      if (!m.delete(k)) throw new Error(`removed a row the client does not hold: ${k}`);
    } else if (c.type === 'add') {
      if (m.has(k)) throw new Error(`added a row the client holds: ${k}`);
      m.set(k, c.row);
    } else m.set(k, c.row);
  }
}

/**
 * A clock for time slices that moves one unit each time it is read, and a counter of the
 * event loop's turns: together they show how much of a sliced task ran in each turn, the
 * same on any machine. (A slice of `sliceMs` units is `sliceMs` looks at this clock.)
 */
export function countingClock() {
  let time = 0;
  let turn = 0;
  let ticking = false;
  /** Looks at the clock per turn of the event loop, while `during` runs. */
  const perTurn = new Map<number, number>();
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  return {
    /** Pass as the driver's `sliceClock`. */
    now: (): number => {
      if (ticking) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
      return time++;
    },
    /** Counts turns of the event loop, and looks at the clock in each, while `work` runs. */
    async during<T>(work: () => Promise<T> | T): Promise<T> {
      perTurn.clear();
      ticking = true;
      setImmediate(tick);
      try {
        return await work();
      } finally {
        ticking = false;
      }
    },
    /** The most looks at the clock within one turn of the event loop during `during`. */
    most: (): number => Math.max(0, ...perTurn.values()),
    /** Looks at the clock during `during`. */
    looks: (): number => [...perTurn.values()].reduce((a, n) => a + n, 0),
  };
}
