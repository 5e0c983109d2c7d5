import fc from 'fast-check';
import {expect, test} from 'vitest';
import {SortedTree} from './sorted-tree.ts';

type Key = {readonly k: number; readonly tag: number};
const compare = (a: Key, b: Key) => a.k - b.k;

/** The model: a sorted array of keys. */
function lowerBound(model: readonly Key[], k: number): number {
  let i = 0;
  while (i < model.length && (model[i] as Key).k < k) i++;
  return i;
}

function checkAgainst(tree: SortedTree<Key>, model: readonly Key[], probes: readonly number[]) {
  tree.validate();
  expect(tree.size).toBe(model.length);
  expect([...tree.keys()]).toEqual(model);
  expect(tree.maxKey()).toBe(model[model.length - 1]);
  for (const k of probes) {
    const i = lowerBound(model, k);
    const hit = model[i]?.k === k ? model[i] : undefined;
    expect(tree.get({k, tag: -1})).toBe(hit);
    expect([...tree.from({k, tag: -1})]).toEqual(model.slice(i));
    const upTo = hit ? i + 1 : i;
    expect([...tree.downFrom({k, tag: -1})]).toEqual(model.slice(0, upTo).reverse());
    expect([...tree.downFrom({k, tag: -1}, true)]).toEqual(model.slice(0, i).reverse());
  }
}

type Op =
  | {readonly op: 'set'; readonly k: number; readonly overwrite: boolean}
  | {readonly op: 'del'; readonly k: number}
  | {readonly op: 'run'; readonly from: number; readonly n: number; readonly del: boolean};

const opArb = (space: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({op: fc.constant('set' as const), k: fc.nat(space), overwrite: fc.boolean()}),
    fc.record({op: fc.constant('del' as const), k: fc.nat(space)}),
    // Runs of adjacent keys, ascending or descending: fill and empty whole leaves.
    fc.record({
      op: fc.constant('run' as const),
      from: fc.nat(space),
      n: fc.integer({min: 1, max: 400}),
      del: fc.boolean(),
    }),
  );

// Fan-out 4 makes deep trees from few keys: splits and merges at every level.
test.each([4, 5, 64])(
  'fan-out %i: behaves as a sorted array under any sequence of adds, overwrites and deletes',
  max => {
    fc.assert(
      fc.property(
        fc.array(opArb(3000), {maxLength: 60}),
        fc.array(fc.integer({min: -1, max: 3001}), {maxLength: 8}),
        (ops, probes) => {
          const tree = new SortedTree<Key>(compare, max);
          const model: Key[] = [];
          let tag = 0;
          const set = (k: number, overwrite: boolean) => {
            const key = {k, tag: tag++};
            const i = lowerBound(model, k);
            const had = model[i]?.k === k;
            expect(tree.set(key, overwrite)).toBe(!had);
            if (!had) model.splice(i, 0, key);
            else if (overwrite) model[i] = key;
          };
          const del = (k: number) => {
            const i = lowerBound(model, k);
            const had = model[i]?.k === k;
            expect(tree.delete({k, tag: -1})).toBe(had);
            if (had) model.splice(i, 1);
          };
          for (const o of ops) {
            if (o.op === 'set') set(o.k, o.overwrite);
            else if (o.op === 'del') del(o.k);
            else {
              for (let j = 0; j < o.n; j++) {
                const k = o.from + (o.del ? -j : j);
                if (o.del) del(k);
                else set(k, false);
              }
            }
            tree.validate();
          }
          checkAgainst(tree, model, probes);
        },
      ),
      {numRuns: 120},
    );
  },
);

test.each([4, 64])('fan-out %i: keys added in order, then all deleted', max => {
  const tree = new SortedTree<Key>(compare, max);
  const model: Key[] = [];
  for (let k = 0; k < 20_000; k++) {
    const key = {k, tag: 0};
    expect(tree.set(key)).toBe(true);
    model.push(key);
  }
  checkAgainst(tree, model, [-5, 0, 63, 64, 4097, 19_999, 20_000]);
  // Delete every other key, then the rest from the top: merges all the way to the root.
  for (let k = 0; k < 20_000; k += 2) tree.delete({k, tag: 0});
  tree.validate();
  for (let k = 19_999; k > 0; k -= 2) tree.delete({k, tag: 0});
  checkAgainst(tree, [], [0, 5]);
  const seven = {k: 7, tag: 1};
  const three = {k: 3, tag: 1};
  tree.set(seven);
  tree.set(three);
  checkAgainst(tree, [three, seven], [3, 5, 8]);
});

test('a fan-out below 4 is refused', () => {
  expect(() => new SortedTree<Key>(compare, 3)).toThrow(/max must be an integer/);
});

test('an iterator survives changes to the tree between its steps', () => {
  const tree = new SortedTree<Key>(compare);
  const keys: Key[] = [];
  for (let k = 0; k < 300; k++) {
    keys.push({k, tag: 0});
    tree.set(keys[k] as Key);
  }
  const fwd = tree.from({k: 100, tag: 0});
  const back = tree.downFrom({k: 299, tag: 0});
  expect(fwd.next().value).toBe(keys[100]);
  expect(back.next().value).toBe(keys[299]);
  // The last leaf (keys 256–299) shrinks below the backward iterator's position.
  for (let k = 270; k < 300; k++) tree.delete(keys[k] as Key);
  expect(back.next().value).toBe(keys[269]);
  expect(back.next().value).toBe(keys[268]);
  for (let k = 0; k < 270; k++) if (k % 3 !== 0) tree.delete(keys[k] as Key);
  tree.validate();
  // Each further step yields one of the keys or ends; nothing throws.
  for (const it of [fwd, back]) {
    for (let r = it.next(); !r.done; r = it.next()) expect(keys).toContain(r.value);
  }
});
