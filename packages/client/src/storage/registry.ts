// Records every database a provider creates in a registry database kept by that same
// provider, so that `dropAllDatabases` finds them later, after a reload too.
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Read, Store, StoreProvider, Write} from '../kv/store.ts';
import {canScan} from '../kv/store.ts';
import type {DropBus} from './drop-bus.ts';
import {defaultDropBus} from './drop-bus.ts';

/** The registry's own database name (one slash, so never a `databaseName`). */
export const REGISTRY_NAME = 'zync/registry';

const ENTRY_PREFIX = 'db/';
// Kept besides the per-name entries for custom stores that cannot scan.
const INDEX_KEY = 'index';

export type RegistryProvider = StoreProvider & {
  /** Names of the databases this provider created and has not dropped. */
  listDatabases(): Promise<string[]>;
  /** Which drop notifications this provider's databases take part in. */
  readonly scope: string;
  readonly bus: DropBus;
};

const wrapped = new WeakSet<StoreProvider>();

export function isRegistryProvider(p: StoreProvider): p is RegistryProvider {
  return wrapped.has(p);
}

export function withRegistry(
  inner: StoreProvider,
  opts: {scope: string; bus?: DropBus},
): RegistryProvider {
  const bus = opts.bus ?? defaultDropBus;
  const {scope} = opts;
  const registered = new Set<string>();

  const withRegistryStore = async <T>(f: (s: Store) => Promise<T>): Promise<T> => {
    const s = inner.create(REGISTRY_NAME);
    try {
      return await f(s);
    } finally {
      await s.close();
    }
  };

  const register = (name: string): Promise<void> => {
    if (registered.has(name)) return Promise.resolve();
    return withRegistryStore(async s => {
      const w = await s.write();
      try {
        if (!(await w.has(ENTRY_PREFIX + name))) {
          await w.put(ENTRY_PREFIX + name, {createdAt: Date.now()});
          const index = asNames(await w.get(INDEX_KEY));
          if (!index.includes(name)) await w.put(INDEX_KEY, [...index, name]);
        }
        await w.commit();
        registered.add(name);
      } finally {
        w.release();
      }
    });
  };

  const unregister = (name: string): Promise<void> => {
    registered.delete(name);
    return withRegistryStore(async s => {
      const w = await s.write();
      try {
        await w.del(ENTRY_PREFIX + name);
        const index = asNames(await w.get(INDEX_KEY));
        if (index.includes(name)) {
          await w.put(
            INDEX_KEY,
            index.filter(n => n !== name),
          );
        }
        await w.commit();
      } finally {
        w.release();
      }
    });
  };

  const provider: RegistryProvider = {
    scope,
    bus,
    create(name) {
      if (name === REGISTRY_NAME) return inner.create(name);
      const store = new RegisteredStore(inner.create(name), register(name));
      store.untrack = bus.track(scope, name, store);
      return store;
    },
    async drop(name) {
      if (name === REGISTRY_NAME) return inner.drop(name);
      await bus.closeLocal(scope, name, 'dropped');
      bus.announce(scope, name);
      await inner.drop(name);
      await unregister(name);
    },
    listDatabases: () =>
      withRegistryStore(async s => {
        const r = await s.read();
        try {
          if (!canScan(r)) return asNames(await r.get(INDEX_KEY));
          const names: string[] = [];
          for await (const [k] of r.scan(ENTRY_PREFIX)) names.push(k.slice(ENTRY_PREFIX.length));
          return names;
        } finally {
          r.release();
        }
      }),
  };
  wrapped.add(provider);
  return provider;
}

function asNames(v: ReadonlyJSONValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * A store whose first write waits until its database is in the registry, so no data is
 * ever written to a database that `dropAllDatabases` could not find.
 */
class RegisteredStore implements Store {
  readonly #inner: Store;
  readonly #registered: Promise<void>;
  untrack: () => void = () => {};

  constructor(inner: Store, registered: Promise<void>) {
    this.#inner = inner;
    this.#registered = registered;
    registered.catch(() => {});
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  read(): Promise<Read> {
    return this.#inner.read();
  }

  async write(): Promise<Write> {
    await this.#registered;
    return this.#inner.write();
  }

  async close(): Promise<void> {
    this.untrack();
    await this.#registered.catch(() => {});
    await this.#inner.close();
  }
}
