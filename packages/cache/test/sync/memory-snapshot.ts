// An EngineSnapshot over a MemoryReplica: the group's own MemorySources, caught up from the
// replica's change log on `advance()`.
import type {Batcher, PrimaryKey, Row} from '@zync/zql/ivm';
import {MemorySource} from '@zync/zql/ivm';
import type {
  EngineSnapshot,
  EngineSnapshotAdvance,
} from '../../src/view-syncer/engine-query-driver.ts';
import type {MemoryReplica} from './memory-replica.ts';

export class MemorySnapshot implements EngineSnapshot {
  readonly #replica: MemoryReplica;
  readonly #sources = new Map<string, MemorySource>();
  #version: string;

  constructor(replica: MemoryReplica, batcher: Batcher) {
    this.#replica = replica;
    this.#version = replica.version;
    for (const [table, rows] of replica.snapshot()) {
      const pk = replica.primaryKeys.get(table) as PrimaryKey;
      this.#sources.set(
        table,
        new MemorySource(table, pk, rows.values() as Iterable<Row>, {batcher}),
      );
    }
  }

  get version(): string {
    return this.#version;
  }

  getSource(table: string): MemorySource | undefined {
    return this.#sources.get(table);
  }

  advance(): EngineSnapshotAdvance {
    const version = this.#replica.version;
    if (version === this.#version) return {kind: 'none', version};
    const changes = this.#replica.changesSince(this.#version);
    return {
      kind: 'changes',
      version,
      changes: () =>
        changes.map(c => ({
          table: c.table,
          change:
            c.type === 'edit'
              ? {type: 'edit', oldRow: c.oldRow as Row, row: c.row as Row}
              : {type: c.type, row: c.row as Row},
        })),
      commit: () => {
        this.#version = version;
      },
    };
  }

  destroy(): void {
    this.#sources.clear();
  }
}
