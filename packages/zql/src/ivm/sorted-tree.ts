// A B+ tree of keys in the order of a comparator: what a MemorySource keeps its rows (and
// each secondary index) in. Leaves are linked, so iterating from any position walks the
// leaf chain. Keys added past the largest (an initial sync, ids that grow) go straight to
// the last leaf after one comparison, and such a leaf is split unevenly (full, then the new
// key alone), so keys added in order fill their leaves completely.

/** Most keys in a leaf and children in an inner node, by default. */
const MAX = 64;

type Leaf<K> = {
  readonly leaf: true;
  keys: K[];
  prev: Leaf<K> | undefined;
  next: Leaf<K> | undefined;
};

type Inner<K> = {
  readonly leaf: false;
  /** `seps[i]` (i ≥ 1) is ≤ every key under `children[i]` and > every key before it. */
  seps: K[];
  children: TreeNode<K>[];
};

type TreeNode<K> = Leaf<K> | Inner<K>;

function newLeaf<K>(keys: K[]): Leaf<K> {
  return {leaf: true, keys, prev: undefined, next: undefined};
}

/** First index in `keys` whose key is ≥ `key` (`upper`: > `key`). */
function search<K>(
  keys: readonly K[],
  key: K,
  compare: (a: K, b: K) => number,
  from: number,
  upper: boolean,
): number {
  let lo = from;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(keys[mid] as K, key);
    if (c < 0 || (upper && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The child of `node` that holds `key`'s position. */
function childIndex<K>(node: Inner<K>, key: K, compare: (a: K, b: K) => number): number {
  // seps[0] is unused: child 0 takes everything below seps[1].
  return search(node.seps, key, compare, 1, true) - 1;
}

export class SortedTree<K> {
  readonly compare: (a: K, b: K) => number;
  /** Most keys in a leaf and children in an inner node. */
  readonly #max: number;
  /** A node with fewer entries is merged with a neighbour when they fit in one. */
  readonly #min: number;
  #root: TreeNode<K>;
  #first: Leaf<K>;
  #last: Leaf<K>;
  #size = 0;

  /** `max`: most keys in a leaf and children in an inner node (at least 4). */
  constructor(compare: (a: K, b: K) => number, max = MAX) {
    if (!Number.isInteger(max) || max < 4) throw new RangeError('max must be an integer ≥ 4');
    this.compare = compare;
    this.#max = max;
    this.#min = max >>> 2;
    const leaf = newLeaf<K>([]);
    this.#root = this.#first = this.#last = leaf;
  }

  get size(): number {
    return this.#size;
  }

  /** The largest key, if any. */
  maxKey(): K | undefined {
    const keys = this.#last.keys;
    return keys[keys.length - 1];
  }

  /** The stored key equal to `key`, if any. */
  get(key: K): K | undefined {
    const max = this.maxKey();
    if (max === undefined) return undefined;
    const c = this.compare(key, max);
    if (c >= 0) return c === 0 ? max : undefined;
    const leaf = this.#leafFor(key);
    const i = search(leaf.keys, key, this.compare, 0, false);
    const found = leaf.keys[i];
    return i < leaf.keys.length && this.compare(found as K, key) === 0 ? found : undefined;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Adds `key`; returns whether it was new. An equal key already there stays, unless
   * `overwrite`, which puts `key` in its place.
   */
  set(key: K, overwrite = false): boolean {
    const compare = this.compare;
    const last = this.#last;
    const lastKeys = last.keys;
    const n = lastKeys.length;
    // Past the largest key: append to the last leaf.
    const c = n === 0 ? 1 : compare(key, lastKeys[n - 1] as K);
    if (c > 0) {
      if (n < this.#max) lastKeys.push(key);
      else this.#appendLeaf(key);
      this.#size++;
      return true;
    }
    if (c === 0) {
      if (overwrite) lastKeys[n - 1] = key;
      return false;
    }
    const path: Inner<K>[] = [];
    const at: number[] = [];
    let node = this.#root;
    while (!node.leaf) {
      const i = childIndex(node, key, compare);
      path.push(node);
      at.push(i);
      node = node.children[i] as TreeNode<K>;
    }
    const keys = node.keys;
    const i = search(keys, key, compare, 0, false);
    if (i < keys.length && compare(keys[i] as K, key) === 0) {
      if (overwrite) keys[i] = key;
      return false;
    }
    keys.splice(i, 0, key);
    this.#size++;
    if (keys.length > this.#max) this.#split(node, path, at);
    return true;
  }

  /** Removes the key equal to `key`; returns whether there was one. */
  delete(key: K): boolean {
    const compare = this.compare;
    const path: Inner<K>[] = [];
    const at: number[] = [];
    let node = this.#root;
    while (!node.leaf) {
      const i = childIndex(node, key, compare);
      path.push(node);
      at.push(i);
      node = node.children[i] as TreeNode<K>;
    }
    const keys = node.keys;
    const i = search(keys, key, compare, 0, false);
    if (i >= keys.length || compare(keys[i] as K, key) !== 0) return false;
    keys.splice(i, 1);
    this.#size--;
    if (keys.length < this.#min) this.#shrink(node, path, at);
    return true;
  }

  /** Every key, in order. */
  keys(): IterableIterator<K> {
    return new Forward(this.#first, 0);
  }

  /** Keys from the first that is ≥ `from`, in order. */
  from(from: K): IterableIterator<K> {
    const leaf = this.#leafFor(from);
    return new Forward(leaf, search(leaf.keys, from, this.compare, 0, false));
  }

  /** Keys from the last that is ≤ `from` (< `from` when `exclusive`), in reverse order. */
  downFrom(from: K, exclusive = false): IterableIterator<K> {
    const leaf = this.#leafFor(from);
    return new Backward(leaf, search(leaf.keys, from, this.compare, 0, !exclusive) - 1);
  }

  /** Throws if the tree's structure is broken (for tests). */
  validate(): void {
    const compare = this.compare;
    const leaves: Leaf<K>[] = [];
    let depth = -1;
    let count = 0;
    const walk = (node: TreeNode<K>, d: number, lo: K | undefined, hi: K | undefined) => {
      if (node.leaf) {
        if (depth === -1) depth = d;
        if (depth !== d) throw new Error('leaves at different depths');
        if (node.keys.length > this.#max) throw new Error('leaf overfull');
        if (node.keys.length === 0 && node !== this.#root) throw new Error('empty leaf');
        for (let i = 0; i < node.keys.length; i++) {
          const k = node.keys[i] as K;
          if (i > 0 && compare(node.keys[i - 1] as K, k) >= 0) throw new Error('leaf unordered');
          if (lo !== undefined && compare(k, lo) < 0) throw new Error('key below separator');
          if (hi !== undefined && compare(k, hi) >= 0) throw new Error('key above separator');
        }
        count += node.keys.length;
        leaves.push(node);
        return;
      }
      const n = node.children.length;
      if (n === 0 || n > this.#max || node.seps.length !== n) throw new Error('bad inner node');
      if (node === this.#root && n < 2) throw new Error('root with one child');
      for (let i = 0; i < n; i++) {
        const from = i === 0 ? lo : (node.seps[i] as K);
        const to = i + 1 < n ? (node.seps[i + 1] as K) : hi;
        walk(node.children[i] as TreeNode<K>, d + 1, from, to);
      }
    };
    walk(this.#root, 0, undefined, undefined);
    if (count !== this.#size) throw new Error('wrong size');
    if (leaves[0] !== this.#first || leaves[leaves.length - 1] !== this.#last) {
      throw new Error('wrong first or last leaf');
    }
    for (let i = 0; i < leaves.length; i++) {
      if (
        (leaves[i] as Leaf<K>).prev !== leaves[i - 1] ||
        (leaves[i] as Leaf<K>).next !== leaves[i + 1]
      ) {
        throw new Error('broken leaf links');
      }
    }
  }

  /** The leaf whose range holds `key`. */
  #leafFor(key: K): Leaf<K> {
    let node = this.#root;
    while (!node.leaf) node = node.children[childIndex(node, key, this.compare)] as TreeNode<K>;
    return node;
  }

  /** A new last leaf holding only `key`, hung on the right edge (split upwards if full). */
  #appendLeaf(key: K): void {
    const leaf = newLeaf([key]);
    const last = this.#last;
    last.next = leaf;
    leaf.prev = last;
    this.#last = leaf;
    // The right edge, root first.
    const spine: Inner<K>[] = [];
    for (let node = this.#root; !node.leaf;) {
      spine.push(node);
      node = node.children[node.children.length - 1] as TreeNode<K>;
    }
    let child: TreeNode<K> = leaf;
    const sep = key;
    for (let d = spine.length - 1; d >= 0; d--) {
      const parent = spine[d] as Inner<K>;
      if (parent.children.length < this.#max) {
        parent.children.push(child);
        parent.seps.push(sep);
        return;
      }
      // The parent is full too: a new right sibling with only the new child.
      child = {leaf: false, seps: [sep], children: [child]};
    }
    this.#root = {leaf: false, seps: [sep, sep], children: [this.#root, child]};
  }

  /** Splits an overfull node in halves, upwards along `path` while parents overflow. */
  #split(node: TreeNode<K>, path: Inner<K>[], at: number[]): void {
    for (let d = path.length; ; d--) {
      let right: TreeNode<K>;
      let sep: K;
      if (node.leaf) {
        const half = node.keys.length >>> 1;
        const leaf = newLeaf(node.keys.splice(half));
        leaf.prev = node;
        leaf.next = node.next;
        if (node.next) node.next.prev = leaf;
        else this.#last = leaf;
        node.next = leaf;
        right = leaf;
        sep = leaf.keys[0] as K;
      } else {
        const half = node.children.length >>> 1;
        const seps = node.seps.splice(half);
        sep = seps[0] as K;
        right = {leaf: false, seps, children: node.children.splice(half)};
      }
      if (d === 0) {
        this.#root = {leaf: false, seps: [sep, sep], children: [node, right]};
        return;
      }
      const parent = path[d - 1] as Inner<K>;
      const i = (at[d - 1] as number) + 1;
      parent.children.splice(i, 0, right);
      parent.seps.splice(i, 0, sep);
      if (parent.children.length <= this.#max) return;
      node = parent;
    }
  }

  /** Merges an underfull node into a neighbour when they fit in one, upwards along `path`. */
  #shrink(node: TreeNode<K>, path: Inner<K>[], at: number[]): void {
    for (let d = path.length; d > 0; d--) {
      const parent = path[d - 1] as Inner<K>;
      const i = at[d - 1] as number;
      const count = (n: TreeNode<K>) => (n.leaf ? n.keys.length : n.children.length);
      // Merge the right one of a pair into the left one.
      let left: number;
      if (i > 0 && count(parent.children[i - 1] as TreeNode<K>) + count(node) <= this.#max) {
        left = i - 1;
      } else if (
        i + 1 < parent.children.length &&
        count(parent.children[i + 1] as TreeNode<K>) + count(node) <= this.#max
      ) {
        left = i;
      } else if (count(node) === 0) {
        left = -1; // empty and its parent's only child: removed; the parent shrinks in turn
      } else return;
      if (left >= 0) this.#merge(parent, left);
      else this.#unhang(parent, i);
      if (parent.children.length >= this.#min) break;
      node = parent;
    }
    // A root with one child is replaced by that child.
    let root = this.#root;
    while (!root.leaf && root.children.length === 1) root = root.children[0] as TreeNode<K>;
    this.#root = root;
  }

  /** Moves the entries of `parent.children[i + 1]` into `parent.children[i]`. */
  #merge(parent: Inner<K>, i: number): void {
    const a = parent.children[i] as TreeNode<K>;
    const b = parent.children[i + 1] as TreeNode<K>;
    if (a.leaf && b.leaf) {
      for (const k of b.keys) a.keys.push(k);
    } else if (!a.leaf && !b.leaf && b.children.length > 0) {
      // b's own first separator is unused; its place is taken by b's separator in parent.
      a.seps.push(parent.seps[i + 1] as K);
      for (let j = 1; j < b.seps.length; j++) a.seps.push(b.seps[j] as K);
      for (const c of b.children) a.children.push(c);
    }
    this.#unhang(parent, i + 1);
  }

  /** Removes `parent.children[i]` (and unlinks it if a leaf). */
  #unhang(parent: Inner<K>, i: number): void {
    const gone = parent.children[i] as TreeNode<K>;
    parent.children.splice(i, 1);
    parent.seps.splice(i, 1);
    if (gone.leaf) {
      if (gone.prev) gone.prev.next = gone.next;
      else if (gone.next) this.#first = gone.next;
      if (gone.next) gone.next.prev = gone.prev;
      else if (gone.prev) this.#last = gone.prev;
    }
  }
}

class Forward<K> implements IterableIterator<K> {
  #leaf: Leaf<K> | undefined;
  #i: number;

  constructor(leaf: Leaf<K>, i: number) {
    this.#leaf = leaf;
    this.#i = i;
  }

  [Symbol.iterator](): IterableIterator<K> {
    return this;
  }

  next(): IteratorResult<K> {
    let leaf = this.#leaf;
    while (leaf && this.#i >= leaf.keys.length) {
      leaf = this.#leaf = leaf.next;
      this.#i = 0;
    }
    if (!leaf) return {done: true, value: undefined};
    return {done: false, value: leaf.keys[this.#i++] as K};
  }
}

class Backward<K> implements IterableIterator<K> {
  #leaf: Leaf<K> | undefined;
  #i: number;

  constructor(leaf: Leaf<K>, i: number) {
    this.#leaf = leaf;
    this.#i = i;
  }

  [Symbol.iterator](): IterableIterator<K> {
    return this;
  }

  next(): IteratorResult<K> {
    let leaf = this.#leaf;
    while (leaf && this.#i < 0) {
      leaf = this.#leaf = leaf.prev;
      if (leaf) this.#i = leaf.keys.length - 1;
    }
    if (!leaf) return {done: true, value: undefined};
    // A key removed since the last step can leave the position past the end.
    if (this.#i >= leaf.keys.length) this.#i = leaf.keys.length - 1;
    return {done: false, value: leaf.keys[this.#i--] as K};
  }
}
