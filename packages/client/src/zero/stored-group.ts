// What an instance reads from its local store when it opens: the client group id the
// database belongs to, and the mutations still pending from an earlier run.
import type {Store} from '../kv/store.ts';
import {META_CLIENT_GROUP} from './local-state.ts';
import type {MutationManager} from './mutations.ts';
import {PENDING_PREFIX} from './mutations.ts';

type Pending = Parameters<MutationManager['restore']>[0];

export function randomID(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, b => b.toString(36).padStart(2, '0'))
    .join('')
    .slice(0, 18);
}

/**
 * The database's client group id, created in a write transaction so that instances
 * opening one database at the same time (tabs) agree on it. `writes`: this instance's
 * queued writes, which go first.
 */
export async function claimGroupID(store: Store, writes: Promise<unknown>): Promise<string> {
  await writes;
  const w = await store.write();
  try {
    const existing = await w.get(META_CLIENT_GROUP);
    if (typeof existing === 'string') return existing;
    const id = randomID();
    await w.put(META_CLIENT_GROUP, id);
    await w.commit();
    return id;
  } finally {
    w.release();
  }
}

/** The mutations a previous run stored and the server had not confirmed. */
export async function readPending(store: Store): Promise<Pending> {
  const read = await store.read();
  try {
    const out: Pending[number][] = [];
    if (read.scan) {
      for await (const [, v] of read.scan(PENDING_PREFIX))
        out.push(v as unknown as Pending[number]);
    }
    return out;
  } finally {
    read.release();
  }
}
