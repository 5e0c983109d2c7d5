// Which sync worker owns a client group: a stable hash of the `clientGroupID` URL parameter,
// so that every client of a group meets on the same worker, whichever socket it opens.
import {availableParallelism} from 'node:os';

/** The `clientGroupID` query parameter of an upgrade's URL, or null. */
export function routedGroupID(url: string | undefined): string | null {
  const q = (url ?? '').indexOf('?');
  if (q < 0) return null;
  const value = new URLSearchParams(url!.slice(q + 1)).get('clientGroupID');
  return value === null || value === '' ? null : value;
}

/** FNV-1a over the UTF-16 code units: cheap, and the same in every process and release. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The index (0..workers-1) of the worker that owns `groupID`. */
export function workerIndexFor(groupID: string, workers: number): number {
  return fnv1a(groupID) % workers;
}

/** ZERO_NUM_SYNC_WORKERS when set, else the number of cores minus one (at least 1). */
export function numSyncWorkers(configured: number | undefined): number {
  return configured ?? Math.max(1, availableParallelism() - 1);
}
