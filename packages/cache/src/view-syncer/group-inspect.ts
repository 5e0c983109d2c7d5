// What an operator may see of a client group (admin endpoints, docs/operations.md): counts,
// query hashes, tables and names, hydration times. Never row contents, query arguments or
// ASTs (their literals may be user data), nor who the group's user is.
import {isReferenced, refHashes, type CVR} from '../cvr/cvr.ts';

/** The last hydration of a query in this process. */
export type Hydration = {readonly ms: number; readonly rows: number; readonly at: number};

export type QuerySummary = {
  readonly hash: string;
  /** The root table of the query, null until its AST is known. */
  readonly table: string | null;
  /** The synced query's name, null for a raw ZQL query. */
  readonly name: string | null;
  /** `live`: got and wanted; `inactive`: kept for its TTL; `pending`: not hydrated yet. */
  readonly state: 'live' | 'inactive' | 'pending';
  /** Connected or recent clients that want it. */
  readonly desiredBy: number;
  /** Rows the group holds for it. */
  readonly rows: number;
  readonly hydrationMs: number | null;
  readonly hydratedAt: string | null;
};

export type GroupSummary = {
  readonly clientGroupID: string;
  readonly clients: number;
  /** Queries the group holds (tombstones left out). */
  readonly queries: number;
  /** Row records of the CVR (live rows and tombstones). */
  readonly rows: number;
  readonly version: string | null;
};

export type GroupDetail = GroupSummary & {readonly queryList: readonly QuerySummary[]};

export function summarizeGroup(
  groupID: string,
  clients: number,
  cvr: CVR | undefined,
): GroupSummary {
  let queries = 0;
  for (const q of cvr?.state.queries.values() ?? []) if (!q.deleted) queries++;
  return {
    clientGroupID: groupID,
    clients,
    queries,
    rows: cvr?.state.rows.size ?? 0,
    version: cvr ? cvr.cookie : null,
  };
}

export function describeGroup(
  groupID: string,
  clients: number,
  cvr: CVR | undefined,
  hydrations: ReadonlyMap<string, Hydration>,
): GroupDetail {
  const perQuery = new Map<string, number>();
  for (const r of cvr?.state.rows.values() ?? []) {
    if (r.deleted || !isReferenced(r)) continue;
    for (const h of refHashes(r)) perQuery.set(h, (perQuery.get(h) ?? 0) + 1);
  }
  const queryList: QuerySummary[] = [];
  for (const q of cvr?.state.queries.values() ?? []) {
    if (q.deleted) continue;
    const h = hydrations.get(q.hash);
    queryList.push({
      hash: q.hash,
      table: q.ast?.table ?? null,
      name: q.name,
      state: q.gotSeq === null ? 'pending' : q.inactiveSince === null ? 'live' : 'inactive',
      desiredBy: q.desiredBy.size,
      rows: perQuery.get(q.hash) ?? 0,
      hydrationMs: h ? Math.round(h.ms * 100) / 100 : null,
      hydratedAt: h ? new Date(h.at).toISOString() : null,
    });
  }
  queryList.sort((a, b) => (b.hydrationMs ?? -1) - (a.hydrationMs ?? -1));
  return {...summarizeGroup(groupID, clients, cvr), queryList};
}
