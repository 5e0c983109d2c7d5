// The engine's property test over SQLite sources. Three ways to route the harness's
// changes: through a real replica write + snapshot advance (the production path), through
// the overlay alone, and through the overlay with occasional rebases onto a snapshot that
// already holds the changes.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, test} from 'vitest';
import type {Ordering} from '@zync/protocol';
import type {ConnectOptions, Source, SourceChange, SourceInput} from '@zync/zql/ivm';
import {checkSourceContract} from '@zync/zql/test/ivm-harness/source-contract.ts';
import {checkSourceProperty} from '@zync/zql/test/ivm-harness/source-property.ts';
import {TABLES, type TableSpec} from '@zync/zql/test/ivm-harness/schema.ts';
import {Snapshotter} from './snapshotter.ts';
import type {SQLiteSource} from './sqlite-source.ts';
import {TestReplica, type TestTable} from '../../test/sqlite-test-replica.ts';

const dir = mkdtempSync(join(tmpdir(), 'zync-sqlite-prop-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

const TEST_TABLES: TestTable[] = TABLES.map(t => ({
  name: t.name,
  columns: Object.fromEntries(
    Object.entries(t.columns).map(([c, kind]) => [c, kind === 'str' ? 'text' : 'int4']),
  ),
  primaryKey: t.primaryKey,
}));

type Mode = 'advance' | 'overlay' | 'rebase';

let cases = 0;

/** One replica + snapshotter per property case (the harness builds every table in order). */
class Env {
  readonly replica: TestReplica;
  readonly snapshotter: Snapshotter;
  readonly file: string;
  pushes = 0;
  readonly built = new Set<string>();

  constructor(n: number) {
    this.file = join(dir, `case-${n}.db`);
    this.replica = new TestReplica(this.file, TEST_TABLES);
    this.snapshotter = new Snapshotter(this.file);
  }

  source(name: string): SQLiteSource {
    const s = this.snapshotter.getSource(name);
    if (!s) throw new Error('no source');
    return s;
  }

  close(): void {
    this.snapshotter.destroy();
    this.replica.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(this.file + suffix, {force: true});
  }
}

function factory(mode: Mode): (spec: TableSpec) => Source {
  let env: Env | undefined;
  return spec => {
    // A case builds each table once: a table seen again means a new case.
    if (!env || env.built.has(spec.name)) {
      env?.close();
      env = new Env(cases++);
    }
    const e = env;
    e.built.add(spec.name);
    const inner = e.source(spec.name);
    return {
      tableName: inner.tableName,
      primaryKey: inner.primaryKey,
      connect: (ordering: Ordering, options?: ConnectOptions): SourceInput =>
        inner.connect(ordering, options),
      push: (change: SourceChange) => {
        switch (mode) {
          case 'overlay':
            inner.push(change);
            return;
          case 'advance': {
            e.replica.apply([{table: spec.name, change}]);
            const adv = e.snapshotter.advance();
            if (adv.kind !== 'changes') throw new Error(`unexpected advance ${adv.kind}`);
            for (const c of adv.changes()) e.source(c.table).push(c.change);
            adv.commit();
            return;
          }
          case 'rebase': {
            inner.push(change);
            e.replica.apply([{table: spec.name, change}]);
            if (++e.pushes % 3 === 0) {
              // The overlay already holds these changes: move onto the snapshot that has them.
              const adv = e.snapshotter.advance();
              if (adv.kind !== 'changes') throw new Error(`unexpected advance ${adv.kind}`);
              adv.commit();
            }
            return;
          }
        }
      },
    };
  };
}

test('views equal evaluate() after every change: replica write + snapshot advance', () => {
  checkSourceProperty(factory('advance'), {numRuns: 300});
}, 120_000);

test('row set equals the rows the query touches: replica write + snapshot advance', () => {
  checkSourceProperty(factory('advance'), {numRuns: 200, rowSet: true});
}, 120_000);

test('views equal evaluate() after every change: overlay over a lagging snapshot', () => {
  checkSourceProperty(factory('rebase'), {numRuns: 300, rowSet: true});
}, 120_000);

test('views equal evaluate() after every change: overlay only', () => {
  checkSourceProperty(factory('overlay'), {numRuns: 200});
}, 120_000);

test('SQLiteSource honours the Source contract (fetch, push visibility)', () => {
  checkSourceContract(factory('advance'), {numRuns: 60});
  checkSourceContract(factory('rebase'), {numRuns: 40});
}, 120_000);
