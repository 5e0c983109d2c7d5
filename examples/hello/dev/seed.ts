// Creates and fills the hello app's tables in an empty database (idempotent: skips when
// the tables exist).
import pg from 'pg';

export const SEED_USERS = [
  {id: 'alice', name: 'Alice', role: 'member'},
  {id: 'bob', name: 'Bob', role: 'member'},
  {id: 'carol', name: 'Carol', role: 'admin'},
] as const;

const DDL = `
  CREATE TABLE users (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')));
  CREATE TABLE issue (
    id       TEXT PRIMARY KEY,
    title    TEXT NOT NULL,
    open     BOOLEAN NOT NULL DEFAULT true,
    owner_id TEXT NOT NULL REFERENCES users(id),
    created  TIMESTAMPTZ NOT NULL DEFAULT now());
  CREATE TABLE audit (
    id       TEXT PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id TEXT NOT NULL,
    action   TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    title    TEXT NOT NULL);
`;

const ISSUES: [string, string, boolean, string][] = [
  ['welcome', 'Welcome to zync: edit me if you are Alice', true, 'alice'],
  ['offline', 'Edits made offline should sync when back online', true, 'alice'],
  ['darkmode', 'Add a dark mode', true, 'bob'],
  ['typo', 'Fix the typo on the login page', false, 'bob'],
  ['audit', 'Review who changed what last week', true, 'carol'],
];

/** Returns whether it seeded (false when the tables were already there). */
export async function seedDatabase(url: string, opts: {extraIssues?: number} = {}) {
  const client = new pg.Client({connectionString: url});
  await client.connect();
  try {
    const {rows} = await client.query<{t: string | null}>(
      `SELECT to_regclass('public.issue') AS t`,
    );
    if (rows[0]?.t !== null) return false;
    await client.query('BEGIN');
    await client.query(DDL);
    for (const u of SEED_USERS) {
      await client.query('INSERT INTO users (id, name, role) VALUES ($1, $2, $3)', [
        u.id,
        u.name,
        u.role,
      ]);
    }
    const base = Date.UTC(2025, 0, 1);
    for (const [i, [id, title, open, owner]] of ISSUES.entries()) {
      await client.query(
        'INSERT INTO issue (id, title, open, owner_id, created) VALUES ($1, $2, $3, $4, $5)',
        [id, title, open, owner, new Date(base + i * 3600_000)],
      );
    }
    // Optional bulk rows (a larger first replication shows the progress bar at work).
    const extra = opts.extraIssues ?? 0;
    if (extra > 0) {
      await client.query(
        `INSERT INTO issue (id, title, open, owner_id, created)
         SELECT 'bulk-' || g, 'Imported issue #' || g, g % 3 <> 0,
                (ARRAY['alice','bob','carol'])[g % 3 + 1], $2::timestamptz - g * interval '1 minute'
         FROM generate_series(1, $1::int) g`,
        [extra, new Date(base)],
      );
    }
    await client.query(
      `INSERT INTO audit (id, at, actor_id, action, issue_id, title)
       VALUES ('seed-1', $1, 'carol', 'create', 'audit', 'Review who changed what last week')`,
      [new Date(base + 4 * 3600_000)],
    );
    await client.query('COMMIT');
    return true;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await client.end();
  }
}

/** Row counts of the replicated tables, for the first replication's progress bar. */
export async function countRows(url: string): Promise<number> {
  const client = new pg.Client({connectionString: url});
  await client.connect();
  try {
    const {rows} = await client.query<{n: string}>(
      `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM issue)
            + (SELECT count(*) FROM audit) AS n`,
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}
