// Bookkeeping of which connected client wants which query, and query TTLs. Pure
// operations on the CVR's query records; hydration and row changes happen elsewhere.
import type {QueryPatch} from '@zync/protocol';
import type {CVR, CVRQuery} from '../cvr/cvr.ts';
import type {RequestedQuery} from './group-client.ts';

export type TtlPolicy = {readonly defaultTtlMs: number; readonly maxTtlMs: number};

export function clampTtl(ttlMs: number | undefined, policy: TtlPolicy): number {
  const t = ttlMs ?? policy.defaultTtlMs;
  return Math.max(0, Math.min(t, policy.maxTtlMs));
}

/**
 * Applies a client's query patch. Returns the queries the client asked for that the group
 * does not hold yet (they need preparing and hydrating).
 */
export function applyQueryPatch(
  cvr: CVR,
  clientID: string,
  patch: QueryPatch,
  policy: TtlPolicy,
  now: number,
): RequestedQuery[] {
  const pending = new Map<string, RequestedQuery>();
  for (const op of patch) {
    switch (op.op) {
      case 'clear':
        undesireAll(cvr, clientID, now);
        pending.clear();
        break;
      case 'del':
        undesire(cvr, op.hash, clientID, now);
        pending.delete(op.hash);
        break;
      case 'put': {
        const ttl = clampTtl(op.ttlMs, policy);
        let q = cvr.state.queries.get(op.hash);
        if (!q) {
          q = {
            hash: op.hash,
            ast: null,
            name: op.name ?? null,
            args: op.args ?? null,
            desiredBy: new Map(),
            ttlMs: ttl,
            inactiveSince: null,
            gotSeq: null,
            replicaVersion: null,
            patchSeq: 0,
            deleted: false,
          };
          cvr.state.queries.set(op.hash, q);
        }
        q.desiredBy.set(clientID, ttl);
        q.ttlMs = Math.max(...q.desiredBy.values());
        q.inactiveSince = null;
        cvr.markQueryDirty(op.hash);
        if (q.deleted || q.gotSeq === null) {
          pending.set(op.hash, {hash: op.hash, ast: op.ast, name: op.name, args: op.args});
        }
        break;
      }
    }
  }
  return [...pending.values()];
}

function undesire(cvr: CVR, hash: string, clientID: string, now: number): void {
  const q = cvr.state.queries.get(hash);
  if (!q?.desiredBy.delete(clientID)) return;
  if (q.desiredBy.size === 0) q.inactiveSince = now;
  cvr.markQueryDirty(hash);
}

/** The client stopped wanting everything (it disconnected, or sent `clear`). */
export function undesireAll(cvr: CVR, clientID: string, now: number): void {
  for (const q of cvr.state.queries.values()) undesire(cvr, q.hash, clientID, now);
}

/** Forgets every client's wishes (a CVR loaded with nobody connected yet). */
export function undesireEveryone(cvr: CVR, now: number): void {
  for (const q of cvr.state.queries.values()) {
    if (q.desiredBy.size === 0) continue;
    q.desiredBy.clear();
    q.inactiveSince = now;
    cvr.markQueryDirty(q.hash);
  }
}

/** Live queries nobody wants whose TTL has run out at `now`. */
export function expiredQueries(cvr: CVR, now: number): CVRQuery[] {
  const out: CVRQuery[] = [];
  for (const q of cvr.state.queries.values()) {
    if (!q.deleted && q.inactiveSince !== null && q.inactiveSince + q.ttlMs <= now) out.push(q);
  }
  return out;
}

/** When the next inactive query expires, or undefined if none will. */
export function nextExpiry(cvr: CVR): number | undefined {
  let next: number | undefined;
  for (const q of cvr.state.queries.values()) {
    if (q.deleted || q.inactiveSince === null) continue;
    const at = q.inactiveSince + q.ttlMs;
    if (next === undefined || at < next) next = at;
  }
  return next;
}
