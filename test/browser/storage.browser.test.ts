// Local storage in real Chromium: per-user IndexedDB databases, reopening offline, delta
// sync after a restart, storageKey, logout (dropAllDatabases / delete) with a second tab
// open, pending mutations across a reload, and the memory fallback. Real Postgres, real
// zero-cache with JWT auth (ZERO_AUTH_SECRET, HS256 tokens made here), the `zync` bundle
// in the page.
import {SignJWT} from 'jose';
import pg from 'pg';
import type {Page} from 'playwright-core';
import {afterAll, afterEach, beforeAll, expect, test} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from '../e2e/zero-cache.ts';
import {startZeroCache} from '../e2e/zero-cache.ts';
import type {BrowserHarness} from './browser-harness.ts';
import {startBrowser} from './browser-harness.ts';

type Frame = {key: string; dir: 'up' | 'down'; frame: [string, Record<string, unknown>]};
type RowOp = {
  op: 'put' | 'puts' | 'del' | 'clear';
  table?: string;
  value?: {id: string};
  columns?: string[];
  values?: unknown[][];
};

const SECRET = 'browser-storage-test-secret-of-32-bytes!';

let url: string;
let db: pg.Client;
let zc: StartedZeroCache | undefined;
let zcPort = 0;
let zcAppId: string | undefined;
let zcReplica: string | undefined;
let browser: BrowserHarness;
let tab: Page;

async function startCache(): Promise<StartedZeroCache> {
  zc = await startZeroCache(url, {
    env: {ZERO_AUTH_SECRET: SECRET},
    ...(zcAppId === undefined ? {} : {appId: zcAppId}),
    ...(zcReplica === undefined ? {} : {replicaFile: zcReplica}),
    port: zcPort,
  });
  zcPort = zc.port;
  zcAppId = zc.appId;
  zcReplica = zc.replicaFile;
  return zc;
}

async function stopCache(): Promise<void> {
  await zc?.stop();
  zc = undefined;
}

const server = () => `http://127.0.0.1:${zcPort}`;

/** An HS256 token for `sub`, as an app's login would hand to the page. */
function jwt(sub: string): Promise<string> {
  return new SignJWT({sub})
    .setProtectedHeader({alg: 'HS256'})
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

/** Creates a `Zero` in the page for `userID`, with its token; returns `zero.idbName`. */
async function open(
  page: Page,
  o: {key: string; userID: string; storageKey?: string},
): Promise<string> {
  const opts = {...o, server: server(), auth: await jwt(o.userID)};
  return page.evaluate(a => window.zt.open(a), opts);
}

beforeAll(async () => {
  url = await createTestDatabase('browser_storage');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`
    CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, rank INT NOT NULL);
    INSERT INTO issue SELECT 'i' || lpad(g::text, 3, '0'), 'Issue ' || g, g
      FROM generate_series(1, 50) g;
    CREATE TABLE big (id INT PRIMARY KEY, label TEXT NOT NULL);
    INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 12000) g;
  `);
  [browser] = await Promise.all([startBrowser(), startCache()]);
  tab = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await stopCache();
  await db?.end();
});

// On failure, say what the page and zero-cache last did (no row data is secret here).
afterEach(async ctx => {
  if (ctx.task.result?.state !== 'fail') return;
  const pages = browser.context.pages().filter(p => p.url().startsWith(browser.baseUrl));
  for (const p of pages) {
    const info = await p
      .evaluate(() => ({
        errors: window.zt.errors,
        frames: window.zt.frames.slice(-8).map(f => JSON.stringify(f).slice(0, 300)),
      }))
      .catch((e: unknown) => String(e));
    console.log('page', p.url(), JSON.stringify(info, null, 1));
  }
  console.log('zero-cache log tail:\n' + (zc?.logLines.slice(-30).join('\n') ?? '(stopped)'));
});

function frames(page: Page): Promise<Frame[]> {
  return page.evaluate(() => window.zt.frames as Frame[]);
}

function pokes(fs: Frame[]) {
  return fs
    .filter(f => f.dir === 'down' && f.frame[0] === 'poke')
    .map(f => f.frame[1] as {baseVersion: string | null; version: string; rows: RowOp[]});
}

test('each user gets a database named zync/<user>/...; it holds their synced rows', async () => {
  const alice = await open(tab, {key: 'alice', userID: 'alice'});
  const bob = await open(tab, {key: 'bob', userID: 'bob'});
  expect(alice).toMatch(/^zync\/alice\/\/[0-9a-f]{12}$/);
  expect(bob).toMatch(/^zync\/bob\/\/[0-9a-f]{12}$/);
  const [a, b] = await Promise.all([
    tab.evaluate(() => window.zt.issues('alice')),
    tab.evaluate(() => window.zt.issues('bob')),
  ]);
  expect(a.rows).toHaveLength(50);
  expect(b.rows).toHaveLength(50);
  await tab.evaluate(() => Promise.all([window.zt.close('alice'), window.zt.close('bob')]));
  expect(await tab.evaluate(() => window.zt.databases())).toEqual(
    expect.arrayContaining([alice, bob]),
  );
  // Rows are stored in buckets (b/<table>/<hh>), not one record each.
  const buckets = await tab.evaluate(n => window.zt.rawKeys(n, 'b/issue/'), alice);
  expect(buckets.length).toBeGreaterThan(0);
  expect(buckets.length).toBeLessThanOrEqual(50);
});

test('offline, a reload shows alice her rows from IndexedDB; after a restart only the delta arrives', async () => {
  await stopCache();
  await browser.reload(tab);
  await open(tab, {key: 'alice', userID: 'alice'});
  const offline = await tab.evaluate(() => window.zt.issues('alice', {minRows: 50}));
  expect(offline.rows).toHaveLength(50);
  expect(offline.rows[0]).toEqual({id: 'i001', title: 'Issue 1', rank: 1});
  expect((await tab.evaluate(() => window.zt.state('alice'))).name).not.toBe('connected');

  await db.query(`
    UPDATE issue SET title = 'changed offline' WHERE id IN ('i001', 'i002');
    INSERT INTO issue VALUES ('i051', 'Issue 51', 51);
  `);
  await startCache();
  await tab.evaluate(() => window.zt.waitState('alice', 'connected', 30_000));
  const after = await tab.evaluate(async () => {
    for (;;) {
      const r = await window.zt.run('alice');
      if (r.length === 51 && r[0]?.title === 'changed offline') return r;
      await new Promise(res => setTimeout(res, 20));
    }
  });
  expect(after.find(r => r.id === 'i002')?.title).toBe('changed offline');

  const fs = await frames(tab);
  const connects = fs.filter(f => f.dir === 'up' && f.frame[0] === 'connect');
  expect(connects.length).toBeGreaterThan(0);
  const baseVersion = connects[0]!.frame[1]['baseVersion'];
  expect(typeof baseVersion).toBe('string');
  const ps = pokes(fs);
  expect(ps.length).toBeGreaterThan(0);
  expect(ps[0]!.baseVersion).toBe(baseVersion);
  const ops = ps.flatMap(p => p.rows);
  expect(ops.some(o => o.op === 'clear')).toBe(false);
  const puts = ops.flatMap(o =>
    o.op === 'put'
      ? [o.value?.id]
      : o.op === 'puts'
        ? (o.values ?? []).map(v => v[(o.columns ?? []).indexOf('id')])
        : [],
  );
  expect(puts.sort()).toEqual(['i001', 'i002', 'i051']);
  await tab.evaluate(() => window.zt.close('alice'));
});

test('storageKey gives another database for the same user', async () => {
  const names = {
    plain: await open(tab, {key: 'a1', userID: 'alice'}),
    keyed: await open(tab, {key: 'a2', userID: 'alice', storageKey: 'my-app'}),
  };
  expect(names.keyed).toMatch(/^zync\/alice\/my-app\/[0-9a-f]{12}$/);
  expect(names.keyed).not.toBe(names.plain);
  const r = await tab.evaluate(() => window.zt.issues('a2'));
  expect(r.rows).toHaveLength(51);
  await tab.evaluate(() => Promise.all([window.zt.close('a1'), window.zt.close('a2')]));
  expect(await tab.evaluate(() => window.zt.databases())).toEqual(
    expect.arrayContaining([names.plain, names.keyed]),
  );
});

test('dropAllDatabases drops every database; live instances here and in a second tab close cleanly', async () => {
  const other = await browser.newPage();
  try {
    const live = await open(other, {key: 'alice', userID: 'alice'});
    const here = await open(tab, {key: 'bob-live', userID: 'bob'});
    await other.evaluate(() => window.zt.issues('alice'));
    await other.evaluate(() => window.zt.waitState('alice', 'connected'));
    await tab.evaluate(() => window.zt.issues('bob-live'));
    const before = await tab.evaluate(() => window.zt.databases());
    expect(before).toEqual(expect.arrayContaining([live, here]));

    const {dropped, errors} = await tab.evaluate(() => window.zt.dropAllDatabases());
    expect(errors).toEqual([]);
    expect(dropped.sort()).toEqual(before.filter(n => n !== 'zync/registry'));
    const closed = await other.evaluate(() => window.zt.waitState('alice', 'closed'));
    expect(closed.reason).toMatch(/dropped/);
    const closedAt = await other.evaluate(() => window.zt.idbCalls.length);
    const closedHere = await tab.evaluate(() => window.zt.waitState('bob-live', 'closed'));
    expect(closedHere.reason).toMatch(/dropped/);
    expect((await tab.evaluate(() => window.zt.run('bob-live'))).length).toBeGreaterThanOrEqual(50);

    // The closed instance still answers queries from memory, and never touches the
    // vanished database again (which would recreate it or throw).
    const rows = await other.evaluate(() => window.zt.run('alice'));
    expect(rows).toHaveLength(51);
    await other.evaluate(() =>
      window.zt.insert('alice', {id: 'after-drop', title: 'x', rank: 0}).catch(() => {}),
    );
    await other.evaluate(() => window.zt.nextTask());
    const touched = await other.evaluate(at => window.zt.idbCalls.slice(at), closedAt);
    expect(touched.filter(c => c.name === live)).toEqual([]);
    const left = await tab.evaluate(() => window.zt.databases());
    for (const n of dropped) expect(left).not.toContain(n);
    expect(await other.evaluate(() => window.zt.errors)).toEqual([]);
  } finally {
    await other.close();
  }
});

test('without BroadcastChannel, a drop from another tab still closes the instance (IndexedDB versionchange)', async () => {
  const other = await browser.newPage();
  try {
    await other.evaluate(() => window.zt.disableBroadcastChannel());
    const name = await open(other, {key: 'vc', userID: 'frank'});
    await other.evaluate(() => window.zt.issues('vc'));
    await other.evaluate(() => window.zt.waitState('vc', 'connected'));
    await tab.evaluate(n => window.zt.dropDatabase(n), name);
    const closed = await other.evaluate(() => window.zt.waitState('vc', 'closed'));
    expect(closed.reason).toMatch(/connection-lost/);
    const closedAt = await other.evaluate(() => window.zt.idbCalls.length);
    expect((await other.evaluate(() => window.zt.run('vc'))).length).toBeGreaterThanOrEqual(50);
    await other.evaluate(() => window.zt.nextTask());
    const touched = await other.evaluate(at => window.zt.idbCalls.slice(at), closedAt);
    expect(touched.filter(c => c.name === name)).toEqual([]);
    expect(await tab.evaluate(() => window.zt.databases())).not.toContain(name);
    expect(await other.evaluate(() => window.zt.errors)).toEqual([]);
  } finally {
    await other.close();
  }
});

test('zero.delete() drops only its own database', async () => {
  const names = {
    alice: await open(tab, {key: 'da', userID: 'alice'}),
    bob: await open(tab, {key: 'db', userID: 'bob'}),
  };
  await tab.evaluate(() => Promise.all([window.zt.issues('da'), window.zt.issues('db')]));
  const before = await tab.evaluate(() => window.zt.idbCalls.length);
  await tab.evaluate(() => window.zt.close('db'));
  await tab.evaluate(() => window.zt.nextTask());
  // Closing deletes nothing.
  const calls = await tab.evaluate(at => window.zt.idbCalls.slice(at), before);
  expect(calls.filter(c => c.op === 'delete')).toEqual([]);
  expect(await tab.evaluate(() => window.zt.databases())).toEqual(
    expect.arrayContaining([names.alice, names.bob]),
  );
  const res = await tab.evaluate(() => window.zt.delete('da'));
  expect(res).toEqual({deleted: [names.alice], errors: []});
  const left = await tab.evaluate(() => window.zt.databases());
  expect(left).not.toContain(names.alice);
  expect(left).toContain(names.bob);
  expect((await tab.evaluate(() => window.zt.state('da'))).name).toBe('closed');
});

test('pending mutations survive a reload while offline and are pushed once on reconnect', async () => {
  const name = await open(tab, {key: 'pm', userID: 'carol'});
  await tab.evaluate(() => window.zt.issues('pm'));
  await stopCache();
  await tab.evaluate(() =>
    window.zt.insert('pm', {id: 'p001', title: 'written offline', rank: 100}),
  );
  await tab.evaluate(async n => {
    while ((await window.zt.rawKeys(n, 'p/')).length === 0) {
      await new Promise(r => setTimeout(r, 10));
    }
  }, name);

  await browser.reload(tab);
  await open(tab, {key: 'pm', userID: 'carol'});
  const offline = await tab.evaluate(() => window.zt.issues('pm', {minRows: 52}));
  expect(offline.rows.find(r => r.id === 'p001')?.title).toBe('written offline');

  await startCache();
  await tab.evaluate(() => window.zt.waitState('pm', 'connected', 30_000));
  await expect
    .poll(
      async () =>
        (await db.query<{title: string}>(`SELECT title FROM issue WHERE id = 'p001'`)).rows,
      {
        timeout: 10_000,
      },
    )
    .toEqual([{title: 'written offline'}]);
  // Confirmed: the pending entry is gone from the store.
  await expect
    .poll(() => tab.evaluate(n => window.zt.rawKeys(n, 'p/'), name), {timeout: 10_000})
    .toEqual([]);
  const pushed = (await frames(tab))
    .filter(f => f.dir === 'up' && f.frame[0] === 'push')
    .flatMap(f => f.frame[1]['mutations'] as {id: number; name: string; args: unknown}[])
    .filter(m => JSON.stringify(m.args).includes('p001'));
  expect(pushed).toHaveLength(1);
  await tab.evaluate(() => window.zt.close('pm'));
});

test('if IndexedDB cannot be opened, the client runs from memory with one warning', async () => {
  const page = await browser.newPage();
  try {
    await page.evaluate(() => window.zt.breakIndexedDB());
    await open(page, {key: 'f1', userID: 'dave'});
    await open(page, {key: 'f2', userID: 'erin'});
    const [a, b] = await page.evaluate(() =>
      Promise.all([window.zt.issues('f1'), window.zt.issues('f2')]),
    );
    expect(a.rows.length).toBeGreaterThanOrEqual(50);
    expect(b.rows.length).toBeGreaterThanOrEqual(50);
    const warnings = await page.evaluate(() => window.zt.warnings);
    expect(warnings.filter(w => /IndexedDB/.test(w))).toHaveLength(1);
    expect(await page.evaluate(() => window.zt.errors)).toEqual([]);
    const dbs = await tab.evaluate(() => window.zt.databases());
    expect(dbs.some(n => n.startsWith('zync/dave/') || n.startsWith('zync/erin/'))).toBe(false);
    // Logout still works: the registry fell back to memory with the stores.
    const {dropped, errors} = await page.evaluate(() => window.zt.dropAllDatabases());
    expect(errors).toEqual([]);
    expect(dropped.map(n => n.split('/')[1]).sort()).toEqual(['dave', 'erin']);
    expect((await page.evaluate(() => window.zt.state('f1'))).name).toBe('closed');
  } finally {
    await page.close();
  }
});

test('a 12,000-row first sync comes in parts into IndexedDB; offline, a reload has every row', async () => {
  await open(tab, {key: 'big', userID: 'bigreader'});
  const online = await tab.evaluate(() => window.zt.big('big'));
  expect(online).toEqual({
    count: 12000,
    ordered: true,
    first: {id: 1, label: 'row 1'},
    last: {id: 12000, label: 'row 12000'},
  });
  const fs = (await frames(tab)).filter(f => f.key === 'big' && f.dir === 'down');
  const parts = fs.filter(f => f.frame[0] === 'pokePart');
  expect(parts.length).toBeGreaterThanOrEqual(2);
  expect(JSON.stringify(parts[0]?.frame[1]['rows']).includes('"op":"puts"')).toBe(true);
  await tab.evaluate(() => window.zt.close('big'));

  await stopCache();
  try {
    await browser.reload(tab);
    await open(tab, {key: 'big', userID: 'bigreader'});
    const offline = await tab.evaluate(() =>
      window.zt.big('big', {complete: false, minRows: 12000}),
    );
    expect(offline).toEqual({...online});
    expect((await tab.evaluate(() => window.zt.state('big'))).name).not.toBe('connected');
    await tab.evaluate(() => window.zt.close('big'));
  } finally {
    await startCache();
  }
});
