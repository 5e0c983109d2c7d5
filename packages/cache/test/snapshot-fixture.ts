// Shared setup of the snapshot tests: a replica written the way the replicator writes it,
// a logger that keeps its lines (to check that no secret reaches them) and a reader of a
// replica's whole contents.
import {mkdtempSync, readdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {createLogger} from '@zync/shared';
import type {Logger} from '@zync/shared';
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
