// The `entry` table that the cluster and process failover tests share: its Zero schema, the
// upstream DDL with a trigger that counts how many times each row was written (a mutation
// applied twice shows as `applied` 2), a live query of every entry, the upstream rows, and
// which view-syncer of a cluster holds each client group.
import {Zero} from '@zync/client';
import {createSchema, number, string, table} from '@zync/zql';
import type pg from 'pg';
import {expect} from 'vitest';
import type {Cluster, ClusterNode} from './cluster.ts';

export const entrySchema = createSchema({
  tables: [
    table('entry')
      .columns({id: string(), client: string(), n: number(), applied: number()})
      .primaryKey('id'),
  ],
});
export type EntryZero = Zero<typeof entrySchema>;
export type Entry = {id: string; client: string; n: number; applied: number};
export type EntryView = {
  data: readonly Entry[];
  resultType: string;
  addListener(fn: (data: readonly Entry[]) => void): () => void;
  destroy(): void;
};

/** Generous limit for waits across process kills and restarts (ms). */
export const LONG = {timeout: 60_000, interval: 50};

/** Creates `entry` with its `applied` counter; `seed` adds one upstream row 'seed'. */
export async function createEntryTable(db: pg.Client, o: {seed?: boolean} = {}): Promise<void> {
  await db.query(`
    CREATE TABLE entry (id TEXT PRIMARY KEY, client TEXT NOT NULL, n INT NOT NULL,
                        applied INT NOT NULL DEFAULT 0);
    CREATE FUNCTION count_applied() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.applied := CASE WHEN TG_OP = 'UPDATE' THEN OLD.applied + 1 ELSE 1 END;
      RETURN NEW;
    END $$;
    CREATE TRIGGER entry_applied BEFORE INSERT OR UPDATE ON entry
      FOR EACH ROW EXECUTE FUNCTION count_applied();
    ${o.seed ? `INSERT INTO entry (id, client, n) VALUES ('seed', 'upstream', 0);` : ''}
  `);
}

/** A Zero client of `userID` (clients of one user in one process share a group). */
export function newEntryZero(server: string, userID: string): EntryZero {
  return new Zero({server, userID, schema: entrySchema, kvStore: 'mem'});
}

/** A live query of every entry, ordered by id. */
export function entriesView(z: EntryZero): EntryView {
  return z.query.entry.orderBy('id', 'asc').materialize() as unknown as EntryView;
}

/** Every upstream row, ordered by id. */
export async function upstreamEntries(db: pg.Client): Promise<Entry[]> {
  return (await db.query<Entry>(`SELECT * FROM entry ORDER BY id`)).rows;
}

/** `items` by the view-syncer holding their group; every group must be on a running one. */
export async function byNode<T>(
  cluster: Cluster,
  items: readonly T[],
  groupOf: (item: T) => string,
): Promise<Map<ClusterNode, T[]>> {
  const by = new Map<ClusterNode, T[]>();
  for (const item of items) {
    const group = groupOf(item);
    const n = await cluster.nodeOf(group);
    expect(n, `group ${group} is on a running view-syncer`).toBeDefined();
    by.set(n!, [...(by.get(n!) ?? []), item]);
  }
  return by;
}

/** Prints the figures a test measured along the way, rounded, under `title`. */
export function printFigures(title: string, figures: Record<string, number>): void {
  console.info(
    `${title}:\n` +
      Object.entries(figures)
        .map(([k, v]) => `  ${k}: ${Math.round(v)}`)
        .join('\n'),
  );
}
