import {expect, test} from 'vitest';
import {Batcher} from './batcher.ts';
import {materialize} from './build-pipeline.ts';
import type {Row} from './data.ts';
import {MemorySource} from './memory-source.ts';
import {checkSourceContract} from '../../test/ivm-harness/source-contract.ts';
import {expectPushRefusals} from '../../test/ivm-harness/push-refusals.ts';

test('MemorySource honours the Source contract (fetch, push visibility)', () => {
  checkSourceContract(spec => new MemorySource(spec.name, spec.primaryKey), {numRuns: 500});
});

test('MemorySource refuses changes that do not fit its rows, without a trace', () => {
  const a = {id: 1, v: 'a'};
  const b = {id: 2, v: 'b'};
  expectPushRefusals(new MemorySource('t', ['id'], [a, b]), a, b, {id: 3, v: 'c'});
});

test('get finds rows on either side of the largest key, and nothing past it', () => {
  const src = new MemorySource('t', ['a', 'b'], []);
  expect(src.get({a: 1, b: 1})).toBeUndefined();
  src.add({a: 1, b: 1, v: 'x'});
  src.add({a: 2, b: 0, v: 'y'});
  src.add({a: 1, b: 2, v: 'z'});
  expect(src.get({a: 2, b: 0})).toEqual({a: 2, b: 0, v: 'y'});
  expect(src.get({a: 1, b: 2})).toEqual({a: 1, b: 2, v: 'z'});
  expect(src.get({a: 2, b: 1})).toBeUndefined();
  expect(src.get({a: 1, b: 3})).toBeUndefined();
  expect(() => src.add({a: 2, b: 0, v: 'again'})).toThrow(/already exists/);
  src.remove({a: 2, b: 0});
  expect(src.get({a: 2, b: 0})).toBeUndefined();
  expect(src.get({a: 1, b: 2})).toEqual({a: 1, b: 2, v: 'z'});
});

test('a view keeps its order whether rows arrive in order, out of order or repeated', () => {
  const src = new MemorySource('t', ['id'], []);
  const view = materialize(
    {kind: 'query', table: 't', orderBy: [['n', 'desc']]},
    {getSource: () => src},
  );
  const ids = () => (view.data as {id: number}[]).map(r => r.id);
  src.add({id: 1, n: 30});
  src.add({id: 2, n: 20});
  src.add({id: 3, n: 10});
  expect(ids()).toEqual([1, 2, 3]);
  src.add({id: 4, n: 25});
  src.add({id: 5, n: 40});
  src.add({id: 6, n: 10});
  expect(ids()).toEqual([5, 1, 4, 2, 3, 6]);
  view.destroy();
});

test('a view in a batch of adds, edits and removes in any order ends sorted, with every row', () => {
  const batcher = new Batcher();
  const src = new MemorySource('t', ['id'], [], {batcher});
  const views = (['asc', 'desc'] as const).map(dir =>
    materialize(
      {kind: 'query', table: 't', orderBy: [['n', dir]]},
      {getSource: () => src},
      {batcher},
    ),
  );
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 20; round++) {
    batcher.run(() => {
      for (let k = 0; k < 200; k++) {
        const id = random(300);
        const existing = src.get({id});
        const choice = random(3);
        if (!existing) src.add({id, n: random(50)});
        else if (choice === 0) src.remove(existing);
        else src.edit(existing, {id, n: random(50)});
      }
    });
    const rows = [...src.rows()];
    const byN = (dir: number) => (a: Row, b: Row) =>
      ((a.n as number) - (b.n as number)) * dir || (a.id as number) - (b.id as number);
    expect(views[0]!.data).toEqual([...rows].sort(byN(1)));
    expect(views[1]!.data).toEqual([...rows].sort(byN(-1)));
  }
  for (const v of views) v.destroy();
});
