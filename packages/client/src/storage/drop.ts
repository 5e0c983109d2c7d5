// Logout helpers: drop one or every local database of a kind of store, and the
// provider resolution that the client uses so that what it creates is registered.
import type {Logger, LogLevel} from '@zync/shared';
import {idbStoreProvider} from '../kv/idb-store.ts';
import {memStoreProvider} from '../kv/mem-store.ts';
import type {StoreProvider} from '../kv/store.ts';
import type {DropBus, DropReason} from './drop-bus.ts';
import {defaultDropBus} from './drop-bus.ts';
import type {RegistryProvider} from './registry.ts';
import {isRegistryProvider, withRegistry} from './registry.ts';

export type KVStoreOption = 'idb' | 'mem' | StoreProvider;

export type DropDatabaseOptions = {
  /** Default `'idb'`, as for `Zero`. */
  kvStore?: KVStoreOption | undefined;
  /** Accepted for Zero compatibility; logging goes to `logger`. */
  logLevel?: LogLevel | undefined;
  /** Beyond: where warnings go (e.g. the IndexedDB fallback). */
  logger?: Logger | undefined;
};

const builtIns = new WeakMap<DropBus, {idb?: RegistryProvider; mem?: RegistryProvider}>();
const customs = new WeakMap<DropBus, WeakMap<StoreProvider, RegistryProvider>>();
const fallbackLoggers = new WeakMap<DropBus, {logger: Logger | undefined}>();

/**
 * The provider for a `kvStore` option, recording what it creates in its registry and
 * taking part in drop notifications. The same option gives the same provider in one
 * context, so the IndexedDB fallback warning is given once.
 */
export function resolveStoreProvider(
  kvStore: KVStoreOption = 'idb',
  opts: {logger?: Logger | undefined; bus?: DropBus | undefined} = {},
): RegistryProvider {
  const bus = opts.bus ?? defaultDropBus;
  if (typeof kvStore !== 'string') {
    if (isRegistryProvider(kvStore)) return kvStore;
    let m = customs.get(bus);
    if (!m) customs.set(bus, (m = new WeakMap()));
    let p = m.get(kvStore);
    if (!p) m.set(kvStore, (p = withRegistry(kvStore, {scope: 'custom', bus})));
    return p;
  }
  if (kvStore !== 'idb' && kvStore !== 'mem') {
    throw new TypeError(`kvStore must be 'idb', 'mem' or a StoreProvider`);
  }
  let sink = fallbackLoggers.get(bus);
  if (!sink) fallbackLoggers.set(bus, (sink = {logger: undefined}));
  if (opts.logger) sink.logger = opts.logger;
  let b = builtIns.get(bus);
  if (!b) builtIns.set(bus, (b = {}));
  if (kvStore === 'mem') {
    return (b.mem ??= withRegistry(memStoreProvider(), {scope: 'mem', bus}));
  }
  const s = sink;
  return (b.idb ??= withRegistry(
    idbStoreProvider({
      onFallback: reason =>
        s.logger?.warn(
          'IndexedDB is not available; local data is kept in memory and lost on reload',
          {reason},
        ),
      onConnectionLost: name => void bus.closeLocal('idb', name, 'connection-lost'),
    }),
    {scope: 'idb', bus},
  ));
}

/** Drops one database: closes its live stores here and elsewhere, then deletes it. */
export async function dropDatabase(name: string, opts: DropDatabaseOptions = {}): Promise<void> {
  await resolveStoreProvider(opts.kvStore, {logger: opts.logger}).drop(name);
}

/**
 * Drops every database registered for the `kvStore`. One failed drop does not stop the
 * others: it is reported in `errors`.
 */
export async function dropAllDatabases(
  opts: DropDatabaseOptions = {},
): Promise<{dropped: string[]; errors: unknown[]}> {
  const provider = resolveStoreProvider(opts.kvStore, {logger: opts.logger});
  const dropped: string[] = [];
  const errors: unknown[] = [];
  let names: string[];
  try {
    names = await provider.listDatabases();
  } catch (e) {
    return {dropped, errors: [e]};
  }
  const results = await Promise.allSettled(names.map(n => provider.drop(n)));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') dropped.push(names[i]!);
    else errors.push(r.reason);
  });
  return {dropped, errors};
}

/**
 * Calls `onDropped` when the database `name` of this `kvStore` is dropped, here or in
 * another context, or when its connection is lost. Its stores are closed by then.
 */
export function watchDrops(
  name: string,
  onDropped: (reason: DropReason) => void,
  opts: {kvStore?: KVStoreOption | undefined} = {},
): () => void {
  const provider = resolveStoreProvider(opts.kvStore);
  return provider.bus.watch(provider.scope, name, onDropped);
}
