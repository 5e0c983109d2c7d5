// Small helpers for unit tests: sources over a shared batcher, views checked against
// evaluate().
import type {AST} from '@zync/protocol';
import {Batcher} from '../../src/ivm/batcher.ts';
import {materialize} from '../../src/ivm/build-pipeline.ts';
import type {PrimaryKey, Row} from '../../src/ivm/data.ts';
import {evaluate} from '../../src/ivm/evaluate.ts';
import {MemorySource} from '../../src/ivm/memory-source.ts';
import type {ArrayView} from '../../src/ivm/view.ts';

export class Fixture {
  readonly batcher = new Batcher();
  readonly sources = new Map<string, MemorySource>();
  readonly pks: Record<string, PrimaryKey> = {};

  table(name: string, rows: Row[] = [], pk: PrimaryKey = ['id']): MemorySource {
    const s = new MemorySource(name, pk, rows, {batcher: this.batcher});
    this.sources.set(name, s);
    this.pks[name] = pk;
    return s;
  }

  get ctx() {
    return {getSource: (name: string) => this.sources.get(name)};
  }

  view(ast: AST): ArrayView {
    return materialize(ast, this.ctx, {batcher: this.batcher});
  }

  /** What evaluate() says over the sources' current rows. */
  expected(ast: AST): unknown {
    const tables: Record<string, Row[]> = {};
    for (const [name, s] of this.sources) tables[name] = [...s.rows()];
    return evaluate(ast, tables, this.pks);
  }
}
