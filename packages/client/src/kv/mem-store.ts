// In-memory store: data lives as long as the `MemDatabases` that holds it (by default, one
// per JS context, i.e. the page or the process). Stores of the same name share data.
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Backend, Changes, Entry} from './backend.ts';
import {isVouchedFrozenJSON} from './frozen-json.ts';
import {SharedDbPool} from './snapshot-store.ts';
import type {StoreProvider} from './store.ts';
import {compareKeys} from './store.ts';

class MemData {
  readonly map = new Map<string, ReadonlyJSONValue>();
  #sorted: string[] | undefined;

  sortedKeys(): string[] {
    return (this.#sorted ??= [...this.map.keys()].sort(compareKeys));
  }

  invalidate(): void {
    this.#sorted = undefined;
  }
}

/** A namespace of in-memory databases. Dropping a name forgets its data for good. */
export class MemDatabases {
  readonly #data = new Map<string, MemData>();
  readonly pool: SharedDbPool;

  constructor() {
    this.pool = new SharedDbPool(name => {
      let data = this.#data.get(name);
      if (!data) {
        data = new MemData();
        this.#data.set(name, data);
      }
      return new MemBackend(data);
    });
  }

  async drop(name: string): Promise<void> {
    // Close live stores first; a store that outlives the drop keeps its detached MemData
    // object, so it can never write into a database created later under the same name.
    await this.pool.closeAll(name);
    this.#data.delete(name);
  }

  names(): string[] {
    return [...this.#data.keys()];
  }
}

const defaultMemDatabases = new MemDatabases();

export type MemStoreOptions = {
  /** Where the data lives; default: one namespace shared by the whole JS context. */
  databases?: MemDatabases;
};

export function memStoreProvider(options: MemStoreOptions = {}): StoreProvider {
  const dbs = options.databases ?? defaultMemDatabases;
  return {
    create: name => dbs.pool.create(name),
    drop: name => dbs.drop(name),
  };
}

class MemBackend implements Backend {
  readonly #data: MemData;

  constructor(data: MemData) {
    this.#data = data;
  }

  get(key: string): ReadonlyJSONValue | undefined {
    return this.#data.map.get(key);
  }

  scanBatch(prefix: string, after: string | undefined, limit: number): Entry[] {
    const keys = this.#data.sortedKeys();
    let i = lowerBound(keys, after ?? prefix);
    if (after !== undefined && keys[i] === after) i++;
    const out: Entry[] = [];
    for (; i < keys.length && out.length < limit; i++) {
      const k = keys[i]!;
      if (!k.startsWith(prefix)) break;
      out.push([k, this.#data.map.get(k)!]);
    }
    return out;
  }

  commit(
    changes: Changes,
    captureOld: ((key: string, old: ReadonlyJSONValue | undefined) => void) | undefined,
  ): void {
    // Clone first so that a failure (a non-JSON value) leaves the data untouched.
    const cloned = new Map<string, ReadonlyJSONValue | undefined>();
    for (const [k, v] of changes) cloned.set(k, v === undefined ? undefined : frozenClone(v));
    const {map} = this.#data;
    let keysChanged = false;
    for (const [k, v] of cloned) {
      const old = map.get(k);
      captureOld?.(k, old);
      if (v === undefined) {
        if (map.delete(k)) keysChanged = true;
      } else {
        if (old === undefined) keysChanged = true;
        map.set(k, v);
      }
    }
    if (keysChanged) this.#data.invalidate();
  }

  close(): void {}
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Stored values are private copies, frozen, so a caller can neither change the store by
// mutating what it put nor by mutating what it got. A value that is already deeply frozen
// plain JSON can be changed by nobody, so it is kept as it is: the client freezes the
// buckets it builds (and vouches for them) so that a large poke is not copied again here.
function frozenClone(v: ReadonlyJSONValue): ReadonlyJSONValue {
  return isVouchedFrozenJSON(v) || isFrozenJSON(v) ? v : clone(v);
}

function clone(v: ReadonlyJSONValue): ReadonlyJSONValue {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new TypeError('put: numbers must be finite');
    }
    return v;
  }
  if (Array.isArray(v)) {
    return Object.freeze((v as readonly ReadonlyJSONValue[]).map(clone));
  }
  const out: Record<string, ReadonlyJSONValue> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined) out[k] = clone(x);
  }
  return Object.freeze(out);
}

/** Whether `clone` would return an equal value: frozen plain objects and arrays all the way. */
function isFrozenJSON(v: unknown): boolean {
  if (v === null || typeof v !== 'object') {
    return typeof v !== 'number' || Number.isFinite(v);
  }
  if (!Object.isFrozen(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    if (proto !== Array.prototype) return false;
    for (const x of v as unknown[]) if (!isFrozenJSON(x)) return false;
    return true;
  }
  if (proto !== Object.prototype) return false;
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    // `clone` drops undefined entries.
    if (x === undefined || !isFrozenJSON(x)) return false;
  }
  return true;
}
