// The status page at /admin in real Chromium: it loads with the admin password (HTTP Basic,
// as a browser sends it), shows the figures of a real zero-cache with a connected client,
// and draws the history chart's points. Without the password the page is refused.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Zero} from '@zync/client';
import {createSchema, string, table} from '@zync/zql';
import pg from 'pg';
import type {BrowserContext} from 'playwright-core';
import {chromium as playwright} from 'playwright-core';
import {afterAll, beforeAll, expect, test, vi} from 'vitest';
import {createTestDatabase} from '../pg.ts';
import type {StartedZeroCache} from '../e2e/zero-cache.ts';
import {startZeroCache} from '../e2e/zero-cache.ts';

const PASSWORD = 'status-page-password';
const schema = createSchema({
  tables: [table('item').columns({id: string(), title: string()}).primaryKey('id')],
});

let zc: StartedZeroCache;
let z: Zero<typeof schema>;
const profiles: string[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const url = await createTestDatabase('status_page');
  const db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE item (id TEXT PRIMARY KEY, title TEXT NOT NULL);
    INSERT INTO item SELECT 'i' || g, 'Item ' || g FROM generate_series(1, 50) g;`);
  await db.end();
  zc = await startZeroCache(url, {
    env: {ZERO_ADMIN_PASSWORD: PASSWORD},
    hooks: {operations: {historyIntervalMs: 100}},
  });
  z = new Zero({server: zc.url, userID: 'anon', schema, kvStore: 'mem'});
  const view = z.query.item.materialize() as unknown as {resultType: string};
  await vi.waitFor(() => expect(view.resultType).toBe('complete'), {timeout: 15_000});
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of profiles) rmSync(p, {recursive: true, force: true});
  await z?.close();
  await zc?.stop();
});

async function browser(password?: string): Promise<BrowserContext> {
  const sparticuz = (await import('@sparticuz/chromium')).default;
  const profile = mkdtempSync(join(tmpdir(), 'zync-status-'));
  profiles.push(profile);
  const context = await playwright.launchPersistentContext(profile, {
    executablePath: await sparticuz.executablePath(),
    headless: true,
    args: [
      ...sparticuz.args,
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      // Nothing but 127.0.0.1 resolves: the page must need nothing else.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
    ...(password === undefined ? {} : {httpCredentials: {username: 'ops', password}}),
  });
  contexts.push(context);
  return context;
}

test('with the password the page shows the figures and charts the last hour', async () => {
  const context = await browser(PASSWORD);
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', r => requests.push(r.url()));
  page.on('pageerror', e => errors.push(e.message));
  page.on('console', m => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const res = await page.goto(`${zc.url}/admin`);
  expect(res?.status()).toBe(200);
  await page.waitForFunction(() => document.getElementById('updated')?.textContent !== '');
  expect(await page.textContent('#connections')).toBe('1');
  expect(await page.textContent('#clientGroups')).toBe('1');
  expect(await page.textContent('#queries')).toBe('1');
  expect(await page.textContent('#replicaVersion')).toBe(zc.replicator.version);
  expect(await page.textContent('#rss')).toMatch(/MiB$/);
  const group = await z.clientGroupID;
  expect(await page.textContent('#groups')).toContain(group);

  // History samples every 100 ms here: a reload draws one point per sample so far.
  await vi.waitFor(
    async () => {
      await page.reload();
      await page.waitForFunction(() => document.getElementById('updated')?.textContent !== '');
      const points = await page.locator('#chart circle.pt-conn').count();
      expect(points).toBeGreaterThanOrEqual(3);
    },
    {timeout: 15_000},
  );
  const ys = await page
    .locator('#chart circle.pt-conn')
    .evaluateAll(cs => cs.map(c => Number(c.getAttribute('cy'))));
  expect(ys.every(y => Number.isFinite(y) && y >= 0 && y <= 220)).toBe(true);
  expect(await page.locator('#chart polyline.conn').count()).toBe(1);

  // A group's queries open below the table.
  await page.click('#groups button');
  await page.waitForSelector('#group:not([hidden])');
  expect(await page.textContent('#queryRows')).toContain('item');

  expect(errors).toEqual([]);
  expect(requests.every(u => u.startsWith(`${zc.url}/`))).toBe(true);
});

test('without the password the page is refused', async () => {
  const context = await browser();
  const page = await context.newPage();
  const res = await page.goto(`${zc.url}/admin`);
  expect(res?.status()).toBe(401);
  expect(await page.locator('#chart').count()).toBe(0);
});
