// What changes while zero-cache runs reaches the clients of every sync worker: a refreshed
// token (new claims), a permission that upstream rows grant, and an upstream schema change.
import {mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {SYNC_PATH, type PokeBody} from '@zync/protocol';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startProcesses, type StartedProcesses} from '../../../../test/e2e/processes.ts';
import {nowS, secretKey, sign} from '../../test/test-tokens.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {workerIndexFor} from './routing.ts';

const SECRET = 'a-test-secret-of-at-least-32-characters!!';
const SCHEMA = `
import {createSchema, definePermissions, relationships, string, table} from 'zync';
const issue = table('issue').columns({id: string(), team: string(), title: string()}).primaryKey('id');
const doc = table('doc').columns({id: string(), title: string()}).primaryKey('id');
const access = table('access').columns({id: string(), doc: string(), sub: string()}).primaryKey('id');
export const schema = createSchema({
  tables: [issue, doc, access],
  relationships: [
    relationships(doc, ({many}) => ({
      access: many({sourceField: ['id'], destField: ['doc'], destSchema: access}),
    })),
  ],
});
export const permissions = definePermissions(schema, () => ({
  issue: {row: {select: [(a, {cmp}) => cmp('team', a.team)]}},
  doc: {row: {select: [(a, {exists}) => exists('access', q => q.where('sub', a.sub))]}},
  access: {row: {select: [(a, {cmp}) => cmp('sub', a.sub)]}},
}));
`;

// An app directory whose node_modules (the repository's) holds `zync`.
const app = mkdtempSync(join(tmpdir(), 'zync-reach-'));
symlinkSync(resolve(import.meta.dirname, '../../../../node_modules'), join(app, 'node_modules'));
writeFileSync(join(app, 'schema.ts'), SCHEMA);

let db: pg.Client;
let zc: StartedProcesses;

beforeAll(async () => {
  const url = await createTestDatabase('procs_reach');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`
    CREATE TABLE issue (id TEXT PRIMARY KEY, team TEXT NOT NULL, title TEXT NOT NULL);
    CREATE TABLE doc (id TEXT PRIMARY KEY, title TEXT NOT NULL);
    CREATE TABLE access (id TEXT PRIMARY KEY, doc TEXT NOT NULL, sub TEXT NOT NULL);
    INSERT INTO issue VALUES ('r1', 'red', 'R1'), ('r2', 'red', 'R2'), ('b1', 'blue', 'B1');
    INSERT INTO doc VALUES ('d1', 'D1'), ('d2', 'D2');
  `);
  zc = await startProcesses(url, {
    workers: 2,
    env: {ZERO_SCHEMA_PATH: join(app, 'schema.ts'), ZERO_AUTH_SECRET: SECRET},
  });
});

afterAll(async () => {
  await zc?.stop();
  await db?.end();
  rmSync(app, {recursive: true, force: true});
});

const token = (team: string) =>
  sign(secretKey(SECRET), 'HS256', {sub: 'u1', team, exp: nowS(3600)});

/** A client that keeps the rows of its pokes, by table and id. */
class Rows {
  readonly byTable = new Map<string, Map<string, Record<string, unknown>>>();
  constructor(readonly client: TestClient) {}

  apply(poke: PokeBody): void {
    for (const r of poke.rows) {
      if (r.op === 'clear') this.byTable.clear();
      else if (r.op === 'put') {
        const v = r.value as Record<string, unknown>;
        this.table(r.table).set(String(v['id']), v);
      } else if (r.op === 'del') this.table(r.table).delete(r.id['id'] as string);
    }
  }

  table(name: string): Map<string, Record<string, unknown>> {
    let t = this.byTable.get(name);
    if (!t) this.byTable.set(name, (t = new Map<string, Record<string, unknown>>()));
    return t;
  }

  ids(name: string): string[] {
    return [...this.table(name).keys()].sort();
  }

  /** Applies pokes until `pred` holds (each poke waited for up to 10 s). */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) this.apply(await this.client.poke(10_000));
  }
}

async function clientOn(worker: number): Promise<Rows> {
  let i = 0;
  while (workerIndexFor(`reach-${i}`, 2) !== worker) i++;
  const group = `reach-${i}`;
  const c = await TestClient.open(zc.port, `${SYNC_PATH}?clientGroupID=${group}`);
  c.connect({
    clientID: `${group}-c`,
    clientGroupID: group,
    userID: 'u1',
    auth: await token('red'),
    desiredQueries: [
      {op: 'put', hash: 'issues', ast: {kind: 'query', table: 'issue'}},
      {op: 'put', hash: 'docs', ast: {kind: 'query', table: 'doc'}},
    ],
  });
  await c.next('connected');
  const rows = new Rows(c);
  await rows.until(() => rows.ids('issue').length > 0);
  return rows;
}

test('a refreshed token, a granted permission and a schema change reach both workers', async () => {
  const clients = [await clientOn(0), await clientOn(1)];
  for (const r of clients) {
    expect(r.ids('issue')).toEqual(['r1', 'r2']);
    expect(r.ids('doc')).toEqual([]);
  }

  // A token with other claims: the rows follow them, on each worker.
  for (const r of clients) r.client.send(['updateAuth', {auth: await token('blue')}]);
  for (const r of clients) {
    await r.client.next('authUpdated');
    await r.until(() => r.ids('issue').join() === 'b1');
  }

  // A row upstream grants the user a doc: the select rule's `exists` sees it everywhere.
  await db.query(`INSERT INTO access VALUES ('a1', 'd1', 'u1')`);
  for (const r of clients) await r.until(() => r.ids('doc').join() === 'd1');

  // A schema change in the same transaction as a write: every worker resets onto it.
  await db.query(`BEGIN;
    ALTER TABLE issue ADD COLUMN extra TEXT NOT NULL DEFAULT 'x';
    UPDATE issue SET title = title || ' (v2)';
    COMMIT;`);
  for (const r of clients) {
    await r.until(() => r.table('issue').get('b1')?.['title'] === 'B1 (v2)');
    expect(r.ids('issue')).toEqual(['b1']);
    expect(r.ids('doc')).toEqual(['d1']);
  }
  for (const r of clients) await r.client.close();
});
