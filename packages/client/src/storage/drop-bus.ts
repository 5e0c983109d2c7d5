// Tells live stores that their database was dropped, in this context and in others
// (tabs, workers) through a BroadcastChannel. A drop closes this context's stores before
// deleting anything, since IndexedDB's deleteDatabase waits for open connections.
import type {Store} from '../kv/store.ts';

export type DropReason =
  /** Dropped by this context. */
  | 'dropped'
  /** Dropped by another context (tab, worker). */
  | 'dropped-elsewhere'
  /** The engine closed the connection, e.g. another context deleted the database. */
  | 'connection-lost';

type Message = {type: 'zync-drop'; scope: string; name: string};

export const DROP_CHANNEL = 'zync-drops';

/** One per JS context (`defaultDropBus`); tests make more to stand for other tabs. */
export class DropBus {
  readonly #live = new Map<string, Set<Store>>();
  readonly #watchers = new Map<string, Set<(reason: DropReason) => void>>();
  readonly #channelName: string;
  #channel: BroadcastChannel | undefined;

  constructor(channelName = DROP_CHANNEL) {
    this.#channelName = channelName;
  }

  /** Registers a live store so that a drop of its database closes it. */
  track(scope: string, name: string, store: Store): () => void {
    return this.#add(this.#live, key(scope, name), store);
  }

  /** Calls `onDropped` once the database is dropped or its connection is lost. */
  watch(scope: string, name: string, onDropped: (reason: DropReason) => void): () => void {
    return this.#add(this.#watchers, key(scope, name), onDropped);
  }

  /** Closes this context's live stores of the database, then tells its watchers. */
  async closeLocal(scope: string, name: string, reason: DropReason): Promise<void> {
    const k = key(scope, name);
    const stores = [...(this.#live.get(k) ?? [])];
    await Promise.allSettled(stores.map(s => s.close()));
    for (const fn of [...(this.#watchers.get(k) ?? [])]) {
      try {
        fn(reason);
      } catch {
        // A watcher's failure must not stop the drop.
      }
    }
  }

  /** Tells other contexts that the database is being dropped. */
  announce(scope: string, name: string): void {
    const Channel = globalThis.BroadcastChannel as typeof BroadcastChannel | undefined;
    if (!Channel) return;
    const msg: Message = {type: 'zync-drop', scope, name};
    if (this.#channel) {
      this.#channel.postMessage(msg);
    } else {
      const ch = new Channel(this.#channelName);
      ch.postMessage(msg);
      ch.close();
    }
  }

  #add<T>(map: Map<string, Set<T>>, k: string, v: T): () => void {
    let set = map.get(k);
    if (!set) map.set(k, (set = new Set()));
    set.add(v);
    this.#listen();
    return () => {
      set.delete(v);
      if (set.size === 0 && map.get(k) === set) map.delete(k);
      if (this.#live.size === 0 && this.#watchers.size === 0) this.#unlisten();
    };
  }

  // Listen only while something is live, so that an idle Node process can exit.
  #listen(): void {
    const Channel = globalThis.BroadcastChannel as typeof BroadcastChannel | undefined;
    if (this.#channel || !Channel) return;
    const ch = new Channel(this.#channelName);
    (ch as {unref?: () => void}).unref?.();
    ch.onmessage = (e: MessageEvent) => {
      const m = e.data as Partial<Message> | null;
      if (m?.type === 'zync-drop' && typeof m.scope === 'string' && typeof m.name === 'string') {
        void this.closeLocal(m.scope, m.name, 'dropped-elsewhere');
      }
    };
    this.#channel = ch;
  }

  #unlisten(): void {
    this.#channel?.close();
    this.#channel = undefined;
  }
}

function key(scope: string, name: string): string {
  return `${scope}\u0000${name}`;
}

export const defaultDropBus = new DropBus();
