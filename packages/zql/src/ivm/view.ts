// ArrayView: the materialized result tree of a query, immutable per change (new
// references along the changed path, the rest shared) so React can compare snapshots.
import type {Batcher} from './batcher.ts';
import type {Change, Input, Output} from './operator.ts';
import {MaterializedTree, settle, type TreeList, type TreeNode} from './tree.ts';

export type ViewRow = Readonly<Record<string, unknown>>;
export type ViewData = readonly ViewRow[] | ViewRow | undefined;
export type ViewListener = (data: ViewData) => void;

export type ViewOptions = {
  /** `ast.one`: data is a single row or undefined. */
  readonly singular?: boolean | undefined;
  /** Share with the sources so that a batch notifies listeners once. */
  readonly batcher?: Batcher | undefined;
};

export class ArrayView implements Output {
  readonly #input: Input;
  readonly #tree: MaterializedTree;
  readonly #singular: boolean;
  readonly #batcher: Batcher | undefined;
  readonly #listeners = new Set<ViewListener>();
  readonly #flush = () => this.#doFlush();
  #data: ViewData;
  #dirty = false;
  #destroyed = false;

  constructor(input: Input, options: ViewOptions = {}) {
    this.#input = input;
    this.#singular = options.singular === true;
    this.#batcher = options.batcher;
    this.#tree = new MaterializedTree(input, false);
    input.setOutput(this);
    this.#data = this.#render();
  }

  get data(): ViewData {
    return this.#data;
  }

  addListener(fn: ViewListener): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#listeners.clear();
    this.#input.destroy();
  }

  push(change: Change): void {
    this.#tree.apply(change);
    if (!this.#dirty) {
      this.#dirty = true;
      if (this.#batcher) this.#batcher.schedule(this.#flush);
      else this.#doFlush();
    }
  }

  /** Renders pending changes and notifies listeners (called at the end of a batch). */
  flush(): void {
    this.#doFlush();
  }

  #doFlush(): void {
    if (!this.#dirty || this.#destroyed) return;
    this.#dirty = false;
    this.#data = this.#render();
    const data = this.#data;
    for (const fn of [...this.#listeners]) fn(data);
  }

  #render(): ViewData {
    const rows = renderList(this.#tree.root);
    return this.#singular ? rows[0] : rows;
  }
}

function renderList(list: TreeList): readonly ViewRow[] {
  if (!list.dirty && list.data !== undefined) return list.data as readonly ViewRow[];
  settle(list);
  const out: ViewRow[] = new Array<ViewRow>(list.nodes.length);
  for (let i = 0; i < list.nodes.length; i++) out[i] = renderNode(list.nodes[i] as TreeNode);
  list.data = out;
  list.dirty = false;
  return out;
}

function renderNode(tn: TreeNode): ViewRow {
  if (tn.data !== undefined) return tn.data as ViewRow;
  if (tn.rels.size === 0) {
    tn.data = tn.row;
    return tn.row;
  }
  const obj: Record<string, unknown> = {...tn.row};
  for (const [name, list] of tn.rels) {
    const rel = list.rel;
    if (!rel || rel.internal) continue;
    let rows = renderList(list);
    if (rel.hidden) rows = flattenJunction(list);
    obj[name] = rel.singular ? rows[0] : rows;
  }
  tn.data = obj;
  return obj;
}

/** A junction hop's children take its place: concatenated in junction order. */
function flattenJunction(list: TreeList): readonly ViewRow[] {
  settle(list);
  const out: ViewRow[] = [];
  for (const j of list.nodes) {
    for (const inner of j.rels.values()) {
      if (!inner.rel || inner.rel.internal) continue;
      const rows = renderList(inner);
      if (inner.rel.hidden) out.push(...flattenJunction(inner));
      else if (inner.rel.singular) {
        if (rows[0] !== undefined) out.push(rows[0]);
      } else out.push(...rows);
    }
  }
  return out;
}
