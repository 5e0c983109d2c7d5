// Shared setup of the snapshot tests: a replica written the way the replicator writes it,
// a snapshot server serving it, a logger that keeps its lines (to check that no secret
// reaches them), a reader of a replica's whole contents, and the undo steps of each test.
import {mkdtempSync, readdirSync} from 'node:fs';
import type {Server} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {createLogger} from '@zync/shared';
import type {Logger} from '@zync/shared';
import {startSnapshotServer, type SnapshotServerOptions} from '../src/change-db/snapshot-server.ts';
import {TestReplica} from './sqlite-test-replica.ts';

export const SECRET = 'snapshot-test-secret-6f1c2a';

export type Captured = {readonly logger: Logger; readonly lines: string[]};

export function capturingLogger(): Captured {
  const lines: string[] = [];
  const logger = createLogger('debug', (level, msg, ctx) =>
    lines.push(`${level} ${msg} ${JSON.stringify(ctx)}`),
  );
  return {logger, lines};
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'snapshot-'));
}

export function files(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** A replica with an `issue` table at its third version. */
export function makeReplica(dir: string): TestReplica {
  const r = new TestReplica(join(dir, 'replica.db'), [
    {
      name: 'issue',
      columns: {id: 'text', title: 'text', priority: 'int4', open: 'bool', meta: 'jsonb'},
      primaryKey: ['id'],
    },
  ]);
  const add = (i: number) => ({
    table: 'issue',
    change: {
      type: 'add' as const,
      row: {id: `i${i}`, title: `Issue ${i}`, priority: i % 5, open: i % 2 === 0, meta: {i}},
    },
  });
  r.apply(Array.from({length: 300}, (_, i) => add(i)));
  r.apply([{table: 'issue', change: {type: 'remove', row: {id: 'i7'}}}]);
  return r;
}

/**
 * Makes the replica about `mib` MiB larger (rows of a few KiB in its `issue` table), so
 * that a response cannot fit in the sockets' buffers and stays in progress while unread.
 */
export function grow(r: TestReplica, mib: number): void {
  const ins = r.db.prepare(`INSERT INTO issue (id, title, priority) VALUES (?, ?, ?)`);
  const filler = 'x'.repeat(4096);
  r.db.transaction(() => {
    for (let i = 0; i < mib * 256; i++) ins.run(`big${i}`, `${i}${filler}`, i);
  })();
}

/** Every table's rows, in primary-key order, internal tables included. */
export function contents(file: string): Record<string, unknown[]> {
  const db = new Database(file, {readonly: true, fileMustExist: true});
  try {
    const tables = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
      .all() as {name: string}[];
    const out: Record<string, unknown[]> = {};
    for (const {name} of tables) {
      out[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all();
    }
    return out;
  } finally {
    db.close();
  }
}

/** What a test opened, undone newest first by `afterEach(runCleanups)`. */
export const cleanups: (() => Promise<void> | void)[] = [];

export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** A replica (`mib` MiB larger when given) served by a snapshot server on a free port. */
export async function servedReplica(
  opts: {mib?: number} & Partial<
    Pick<SnapshotServerOptions, 'maxConcurrent' | 'minVersionWaitMs'>
  > = {},
) {
  const {mib, ...serverOpts} = opts;
  const dir = tempDir();
  const replica = makeReplica(dir);
  if (mib) grow(replica, mib);
  cleanups.push(() => replica.close());
  const log = capturingLogger();
  const server = await startSnapshotServer({
    replicaFile: replica.file,
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    lc: log.logger,
    ...serverOpts,
  });
  cleanups.push(() => server.close());
  return {dir, replica, server, log, uri: `http://127.0.0.1:${server.port}`};
}

/** Listens on a free port of 127.0.0.1 until the test ends; returns the port. */
export async function listenLocal(srv: Server): Promise<number> {
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    srv.closeAllConnections();
    await new Promise<void>(r => srv.close(() => r()));
  });
  const addr = srv.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}
