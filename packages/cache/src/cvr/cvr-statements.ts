// The statements of a CVR flush (see cvr-store.ts and docs/cvr.md, "Writes"). Every one
// writes a group only while it still holds the owner epoch its writer loaded it with.

/**
 * Records are passed as JSON arrays of `CVRQueryRecord` objects (field names as in cvr.ts)
 * and of `WireRun`s, so no parameter limit applies. Group: $1 id, $2 epoch, $3 seq,
 * $4 horizon, $5 replica version, $6 owner epoch. `updateGroup` updates no row when
 * another node took the group over (or it is gone): the caller then writes nothing more.
 */
export function flushStatements(s: string) {
  const deleteQueries = (id: string, hashes: string) =>
    `DELETE FROM ${s}.queries WHERE group_id = ${id} AND hash = ANY(${hashes}::text[])`;
  const upsertQueries = (id: string, json: string) => `INSERT INTO ${s}.queries
      (group_id, hash, ast, name, args, desired_by, ttl_ms, inactive_since, got_seq,
       replica_version, patch_seq, deleted)
    SELECT ${id}, x.hash, x.ast, x.name, x.args, x."desiredBy", x."ttlMs", x."inactiveSince",
      x."gotSeq", x."replicaVersion", x."patchSeq", x.deleted
    FROM jsonb_to_recordset(${json}::jsonb) AS x(hash text, ast jsonb, name text, args jsonb,
      "desiredBy" jsonb, "ttlMs" bigint, "inactiveSince" bigint, "gotSeq" bigint,
      "replicaVersion" text, "patchSeq" bigint, deleted boolean)
    ON CONFLICT (group_id, hash) DO UPDATE SET ast = excluded.ast, name = excluded.name,
      args = excluded.args, desired_by = excluded.desired_by, ttl_ms = excluded.ttl_ms,
      inactive_since = excluded.inactive_since, got_seq = excluded.got_seq,
      replica_version = excluded.replica_version, patch_seq = excluded.patch_seq,
      deleted = excluded.deleted`;
  const deleteRows = (id: string, keys: string) =>
    `DELETE FROM ${s}.rows WHERE group_id = ${id} AND row_key = ANY(${keys}::text[])`;
  // Rows arrive as compact runs (see WireRun in cvr-writes.ts).
  const upsertRows = (id: string, runs: string) => `INSERT INTO ${s}.rows
      (group_id, row_key, tbl, row_id, content_hash, refs, patch_seq, deleted)
    SELECT ${id}, r->>0, run->>'t', r->1, r->>2, run->'r', (run->>'s')::bigint,
      (run->>'d')::boolean
    FROM jsonb_array_elements(${runs}::jsonb) AS run, jsonb_array_elements(run->'rows') AS r
    ON CONFLICT (group_id, row_key) DO UPDATE SET content_hash = excluded.content_hash,
      refs = excluded.refs, patch_seq = excluded.patch_seq, deleted = excluded.deleted`;
  return {
    // The first statement of a large write's transaction: it locks the group's row, so a
    // load on another node waits for the whole write (and then sees all of it).
    updateGroup: `UPDATE ${s}.groups SET epoch = $2, seq = $3, horizon = $4,
      replica_version = $5, last_active = now() WHERE group_id = $1 AND owner_epoch = $6`,
    deleteQueries: deleteQueries('$1', '$2'),
    upsertQueries: upsertQueries('$1', '$2'),
    deleteRows: deleteRows('$1', '$2'),
    upsertRows: upsertRows('$1', '$2'),
    // $1 is a JSON array of CVRWrites; returns the ids of the groups it refused. `g`
    // updates the groups whose owner epoch still matches (waiting for the lock of a load
    // under way, then checking the row as that load left it); only the groups it returns
    // (`w`) get their queries and rows written. Within one group the written and deleted
    // key sets are disjoint and each group appears once, so the CTEs, which all see the
    // same snapshot, never touch one row twice.
    flushMany: `WITH b AS (SELECT e, e->'group'->>'groupID' AS gid
        FROM jsonb_array_elements($1::jsonb) AS e),
      g AS (UPDATE ${s}.groups t SET epoch = b.e->'group'->>'epoch',
          seq = (b.e->'group'->>'seq')::bigint, horizon = (b.e->'group'->>'horizon')::bigint,
          replica_version = b.e->'group'->>'replicaVersion', last_active = now()
        FROM b WHERE t.group_id = b.gid
          AND t.owner_epoch = (b.e->'group'->>'ownerEpoch')::bigint
        RETURNING t.group_id),
      w AS (SELECT b.e, b.gid FROM b JOIN g ON g.group_id = b.gid),
      dq AS (DELETE FROM ${s}.queries q
        USING w, jsonb_array_elements_text(w.e->'deletedQueries') AS d(hash)
        WHERE q.group_id = w.gid AND q.hash = d.hash),
      q AS (${upsertQueries('w.gid', "(w.e->'queries')").replace('FROM jsonb_to_recordset', 'FROM w, jsonb_to_recordset')}),
      dr AS (DELETE FROM ${s}.rows r
        USING w, jsonb_array_elements_text(w.e->'deletedRows') AS d(key)
        WHERE r.group_id = w.gid AND r.row_key = d.key),
      r AS (${upsertRows('w.gid', "(w.e->'rows')").replace('FROM jsonb_array_elements', 'FROM w, jsonb_array_elements')})
      SELECT gid AS refused FROM b WHERE NOT EXISTS (SELECT 1 FROM g WHERE g.group_id = b.gid)`,
  };
}
