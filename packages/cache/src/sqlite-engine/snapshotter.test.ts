import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, expect, test} from 'vitest';
import type {Row} from '@zync/zql/ivm';
import {
  ChangeLogCache,
  Snapshotter,
  SnapshotPool,
  snapshotterFactory,
  type TableChange,
} from './snapshotter.ts';
import {TestReplica} from '../../test/sqlite-test-replica.ts';

const dir = mkdtempSync(join(tmpdir(), 'zync-snapshotter-'));
const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const fn of cleanup.splice(0)) fn();
  rmSync(dir, {recursive: true, force: true});
});
let n = 0;

function setup() {
  const file = join(dir, `s${n++}.db`);
  const replica = new TestReplica(file, [
    {name: 'issue', columns: {id: 'text', title: 'text', open: 'bool'}, primaryKey: ['id']},
    {name: 'other', columns: {id: 'int4'}, primaryKey: ['id']},
  ]);
  const add = (row: Row) => ({table: 'issue', change: {type: 'add' as const, row}});
  replica.apply([add({id: 'a', title: 'A', open: true}), add({id: 'b', title: 'B', open: false})]);
  const snapshotter = new Snapshotter(file);
  cleanup.push(
    () => snapshotter.destroy(),
    () => replica.close(),
  );
  const source = snapshotter.getSource('issue');
  if (!source) throw new Error('no source');
  return {replica, snapshotter, source, add};
}

function pushAll(s: Snapshotter): TableChange[] {
  const adv = s.advance();
  if (adv.kind !== 'changes') throw new Error(adv.kind);
  const out: TableChange[] = [];
  for (const c of adv.changes()) {
    out.push(c);
    s.getSource(c.table)?.push(c.change);
  }
  adv.commit();
  return out;
}

test('reads are pinned to the snapshot until advance', () => {
  const {replica, snapshotter, source, add} = setup();
  const input = source.connect([]);
  const v0 = snapshotter.version;
  replica.apply([add({id: 'c', title: 'C', open: null})]);
  expect([...input.fetch({})].map(n => n.row['id'])).toEqual(['a', 'b']);
  expect(snapshotter.version).toBe(v0);
  const changes = pushAll(snapshotter);
  expect(changes).toEqual([
    {table: 'issue', change: {type: 'add', row: {id: 'c', title: 'C', open: null}}},
  ]);
  expect(snapshotter.version).toBe(replica.version);
  expect(source.overlaySize).toBe(0);
  expect([...input.fetch({})].map(n => n.row['id'])).toEqual(['a', 'b', 'c']);
  expect(snapshotter.advance()).toEqual({kind: 'none', version: replica.version});
});

test('several versions collapse to one net change per key; no-op sets vanish', () => {
  const {replica, snapshotter} = setup();
  const a = {id: 'a', title: 'A', open: true};
  const a2 = {id: 'a', title: 'A2', open: false};
  const b = {id: 'b', title: 'B', open: false};
  replica.apply([{table: 'issue', change: {type: 'edit', oldRow: a, row: a2}}]);
  replica.apply([{table: 'issue', change: {type: 'edit', oldRow: a2, row: {...a2, title: 'A3'}}}]);
  replica.apply([{table: 'issue', change: {type: 'remove', row: b}}]);
  replica.apply([{table: 'issue', change: {type: 'add', row: b}}]);
  replica.apply([{table: 'issue', change: {type: 'add', row: {id: 'x', title: null, open: true}}}]);
  replica.apply([{table: 'issue', change: {type: 'remove', row: {id: 'x'}}}]);
  replica.apply([{table: 'other', change: {type: 'add', row: {id: 1}}}]);
  expect(pushAll(snapshotter)).toEqual([
    {
      table: 'issue',
      change: {type: 'edit', oldRow: a, row: {id: 'a', title: 'A3', open: false}},
    },
  ]);
});

test('a primary-key change is a remove and an add', () => {
  const {replica, snapshotter} = setup();
  const a = {id: 'a', title: 'A', open: true};
  replica.apply([{table: 'issue', change: {type: 'edit', oldRow: a, row: {...a, id: 'z'}}}]);
  expect(pushAll(snapshotter)).toEqual([
    {table: 'issue', change: {type: 'remove', row: a}},
    {table: 'issue', change: {type: 'add', row: {...a, id: 'z'}}},
  ]);
});

test('tables without a source are skipped; a source created later sees the new snapshot', () => {
  const {replica, snapshotter} = setup();
  replica.apply([{table: 'other', change: {type: 'add', row: {id: 7}}}]);
  expect(pushAll(snapshotter)).toEqual([]);
  const other = snapshotter.getSource('other');
  expect([...(other?.connect([]).fetch({}) ?? [])].map(n => n.row)).toEqual([{id: 7}]);
});

test('truncate and reset entries ask the caller to rehydrate', () => {
  for (const op of ['truncate', 'reset'] as const) {
    const {replica, snapshotter, source} = setup();
    replica.tableOp('issue', op);
    const adv = snapshotter.advance();
    expect(adv.kind).toBe('reset');
    if (adv.kind !== 'reset') return;
    expect(adv.reason).toBe(op);
    adv.commit();
    expect(() => [...source.connect([]).fetch({})]).toThrow(TypeError);
    const fresh = snapshotter.getSource('issue');
    expect(fresh).not.toBe(source);
    expect([...(fresh?.connect([]).fetch({}) ?? [])].length).toBe(op === 'truncate' ? 0 : 2);
  }
});

test('a pruned change log asks the caller to rehydrate', () => {
  const {replica, snapshotter, add} = setup();
  const v = replica.apply([add({id: 'c', title: 'C', open: true})]);
  replica.db.prepare(`UPDATE _zync_replication_state SET changelog_floor = ?`).run(v);
  replica.apply([add({id: 'd', title: 'D', open: true})]);
  const adv = snapshotter.advance();
  expect(adv.kind === 'reset' && adv.reason).toBe('changelog-pruned');
});

test('an iterator left open does not block the swap', () => {
  const {replica, snapshotter, source, add} = setup();
  const it = source.connect([]).fetch({})[Symbol.iterator]();
  it.next();
  replica.apply([add({id: 'c', title: 'C', open: true})]);
  pushAll(snapshotter);
  replica.apply([add({id: 'd', title: 'D', open: true})]);
  pushAll(snapshotter);
  expect([...source.connect([]).fetch({})].map(n => n.row['id'])).toEqual(['a', 'b', 'c', 'd']);
});

test('snapshotters sharing a change-log cache read each range of the log once', () => {
  const {replica, snapshotter: a, add} = setup();
  const changeLog = new ChangeLogCache();
  const b = new Snapshotter(replica.file, {changeLog});
  const c = new Snapshotter(replica.file, {changeLog});
  const aShared = new Snapshotter(replica.file, {changeLog});
  cleanup.push(
    () => b.destroy(),
    () => c.destroy(),
    () => aShared.destroy(),
  );
  for (const s of [b, c, aShared]) s.getSource('issue');
  const v = replica.apply([
    add({id: 'c', title: 'C', open: true}),
    {table: 'issue', change: {type: 'remove', row: {id: 'a'}}},
  ]);
  const expected = [
    {table: 'issue', change: {type: 'add', row: {id: 'c', title: 'C', open: true}}},
    {table: 'issue', change: {type: 'remove', row: {id: 'a', title: 'A', open: true}}},
  ];
  expect(pushAll(b)).toEqual(expected);
  expect(changeLog.size).toBe(1);
  // Wipe the log: a snapshotter without the cache now sees nothing, the others the same
  // changes as the first.
  replica.db.prepare(`DELETE FROM _zync_changelog WHERE version = ?`).run(v);
  expect(pushAll(a)).toEqual([]);
  expect(pushAll(c)).toEqual(expected);
  expect(pushAll(aShared)).toEqual(expected);
  for (const s of [a, b, c, aShared]) {
    expect([...s.getSource('issue')!.connect([]).fetch({})].map(x => x.row['id'])).toEqual([
      'b',
      'c',
    ]);
  }
});

test('a shared range is decoded for tables a group had no source of', () => {
  const {replica, snapshotter: a} = setup();
  const changeLog = new ChangeLogCache();
  const b = new Snapshotter(replica.file, {changeLog});
  const c = new Snapshotter(replica.file, {changeLog});
  cleanup.push(
    () => b.destroy(),
    () => c.destroy(),
  );
  c.getSource('other');
  replica.apply([{table: 'other', change: {type: 'add', row: {id: 7}}}]);
  expect(pushAll(b)).toEqual([]);
  expect(pushAll(c)).toEqual([{table: 'other', change: {type: 'add', row: {id: 7}}}]);
  expect(pushAll(a)).toEqual([]);
});

test('the change-log cache holds a bounded number of entries', () => {
  const {replica, add} = setup();
  const changeLog = new ChangeLogCache(2);
  const groups = [0, 1, 2].map(() => new Snapshotter(replica.file, {changeLog}));
  cleanup.push(() => groups.forEach(g => g.destroy()));
  for (const g of groups) g.getSource('issue');
  replica.apply([add({id: 'c', title: 'C', open: true})]);
  pushAll(groups[0]!);
  replica.apply([add({id: 'd', title: 'D', open: true})]);
  pushAll(groups[0]!);
  expect(changeLog.size).toBe(2);
  replica.apply([add({id: 'e', title: 'E', open: true})]);
  pushAll(groups[0]!);
  // The oldest range made room.
  expect(changeLog.size).toBe(2);
  // Three keys are more than the bound: read, used, not kept.
  const f = (id: string) => add({id, title: id, open: false});
  replica.apply([f('f'), f('g'), f('h')]);
  expect(pushAll(groups[0]!).length).toBe(3);
  expect(changeLog.size).toBe(2);
  // A group that lagged behind gets the same net changes as the ones that followed along.
  const ids = (g: Snapshotter) => pushAll(g).map(c => (c.change as {row: Row}).row['id']);
  expect(ids(groups[1]!)).toEqual(['c', 'd', 'e', 'f', 'g', 'h']);
  expect(ids(groups[2]!)).toEqual(['c', 'd', 'e', 'f', 'g', 'h']);
});

test('snapshotters at one version share its read connection; each keeps its own version', () => {
  const {replica, add} = setup();
  const pool = new SnapshotPool(replica.file);
  const [a, b, c] = [0, 1, 2].map(() => new Snapshotter(replica.file, {pool}));
  cleanup.push(() => [a, b, c].forEach(s => s?.destroy()));
  if (!a || !b || !c) throw new Error('no snapshotters');
  expect(b.db).toBe(a.db);
  expect(c.db).toBe(a.db);
  for (const s of [a, b, c]) s.getSource('issue');
  const ids = (s: Snapshotter) =>
    [...s.getSource('issue')!.connect([]).fetch({})].map(x => x.row['id']);
  const v1 = replica.apply([add({id: 'c', title: 'C', open: true})]);
  expect(pushAll(a).length).toBe(1);
  expect(a.version).toBe(v1);
  // A write after the first group pinned v1: the next group gets the newer version.
  const v2 = replica.apply([add({id: 'd', title: 'D', open: true})]);
  expect(pushAll(b).length).toBe(2);
  expect(b.version).toBe(v2);
  expect(b.db).not.toBe(a.db);
  // `c` has not advanced: it still reads the first version, `a` the second.
  expect(ids(c)).toEqual(['a', 'b']);
  expect(ids(a)).toEqual(['a', 'b', 'c']);
  expect(pushAll(a).length).toBe(1);
  expect(a.db).toBe(b.db);
  expect(pushAll(c).length).toBe(2);
  expect(c.db).toBe(b.db);
  for (const s of [a, b, c]) expect(ids(s)).toEqual(['a', 'b', 'c', 'd']);
  expect(a.advance()).toEqual({kind: 'none', version: v2});
});

test('a snapshot outlives the snapshotters that share it until the last one lets go', () => {
  const {replica, add} = setup();
  const snapshots = snapshotterFactory(replica.file);
  const a = snapshots.open();
  const b = snapshots.open();
  cleanup.push(
    () => b.destroy(),
    () => snapshots.close(),
  );
  a.getSource('issue');
  const src = b.getSource('issue')!;
  const it = src.connect([]).fetch({})[Symbol.iterator]();
  expect(it.next().value?.row['id']).toBe('a');
  a.destroy();
  replica.apply([add({id: 'c', title: 'C', open: true})]);
  // The shared read transaction is still open: `b` keeps reading its version.
  expect([...src.connect([]).fetch({})].map(x => x.row['id'])).toEqual(['a', 'b']);
  expect(it.next().value?.row['id']).toBe('b');
  expect(pushAll(b).length).toBe(1);
  expect(it.next().done).toBe(true);
  expect([...src.connect([]).fetch({})].map(x => x.row['id'])).toEqual(['a', 'b', 'c']);
});
