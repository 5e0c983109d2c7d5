// The hello app in a real Chromium, in each auth mode: sync between two users, a refused
// edit rolled back, the admin-only view and its data, token refresh, logout and resync.
import {existsSync, writeFileSync} from 'node:fs';
import pg from 'pg';
import type {Browser, Page} from 'playwright-core';
import {afterAll, beforeAll, beforeEach, describe, expect, test, vi} from 'vitest';
import type {AuthMode} from '../server/tokens.ts';
import type {DebugWindow, TestStack} from './browser.ts';
import {
  describePage,
  launchBrowser,
  localRows,
  loginAs,
  openAs,
  startTestStack,
  STEP,
} from './browser.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const issueRows = (page: Page) => page.getByTestId('issues').locator('.row');

async function addIssue(page: Page, title: string): Promise<void> {
  await page.getByLabel('new issue title').fill(title, {timeout: STEP});
  await page.getByRole('button', {name: 'Add'}).click({timeout: STEP});
}

async function pgQuery<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
) {
  const c = new pg.Client({connectionString: url});
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const MODES: AuthMode[] = ['secret', 'jwks', 'cookie'];

describe.each(MODES)('auth mode %s', mode => {
  let stack: TestStack;
  const pages: Page[] = [];
  beforeAll(async () => {
    // A short token life: the client refreshes 30 s before expiry, so at most 1 s after it
    // got a token (exp is in whole seconds: 30–31 s ahead).
    stack = await startTestStack(mode, {accessTokenTtlSeconds: 31});
  });
  beforeEach(({onTestFailed}) => {
    onTestFailed(async () => {
      const names = ['alice', 'bob', 'carol'];
      for (const [i, p] of pages.entries()) console.error(await describePage(p, names[i]!));
      console.error(stack.logs.slice(-60).join('\n'));
    });
  });
  afterAll(async () => {
    for (const p of pages) await p.context().close();
    await stack?.stop();
  });

  test('alice sees the issues; bob sees her new issue appear', async () => {
    const alice = await openAs(browser, stack, 'Alice');
    const bob = await openAs(browser, stack, 'Bob');
    pages.push(alice, bob);
    await expect.poll(() => issueRows(alice).count(), {timeout: 15_000}).toBe(5);
    await expect.poll(() => issueRows(bob).count(), {timeout: 15_000}).toBe(5);
    await expect
      .poll(() => alice.getByTestId('connection').textContent({timeout: 1_000}), {timeout: STEP})
      .toBe('connected');

    await addIssue(alice, `Plan the ${mode} launch`);
    await bob.getByText(`Plan the ${mode} launch`).waitFor({timeout: STEP});
    const rows = await pgQuery<{owner_id: string}>(
      stack.upstreamUrl,
      `SELECT owner_id FROM issue WHERE title = $1`,
      [`Plan the ${mode} launch`],
    );
    expect(rows).toEqual([{owner_id: 'alice'}]);
  });

  test("bob cannot edit alice's issue: rolled back, and the page says why", async () => {
    const bob = pages[1]!;
    const row = bob.locator('.row[data-id="welcome"]');
    const before = await row.locator('.title').textContent({timeout: STEP});
    await row.getByRole('button', {name: 'Edit'}).click({timeout: STEP});
    await row.getByLabel('title').fill('Bob was here', {timeout: STEP});
    await row.getByRole('button', {name: 'Save'}).click({timeout: STEP});
    await expect
      .poll(() => bob.getByTestId('error').textContent({timeout: 1_000}), {timeout: 10_000})
      .toContain('Only the owner of an issue or an admin can change it');
    await expect
      .poll(() => row.locator('.title').textContent({timeout: 1_000}), {timeout: STEP})
      .toBe(before);
    const [dbRow] = await pgQuery<{title: string}>(
      stack.upstreamUrl,
      `SELECT title FROM issue WHERE id = 'welcome'`,
    );
    expect(dbRow?.title).toBe(before);
  });

  test('an admin sees the admin view; a non-admin neither sees it nor holds its rows', async () => {
    const [alice, bob] = pages as [Page, Page];
    const carol = await openAs(browser, stack, 'Carol');
    pages.push(carol);
    await carol.getByTestId('admin-view').waitFor({timeout: STEP});
    // alice's create earlier was recorded in the audit log by the server
    await expect
      .poll(async () => (await localRows(carol, 'audit')).length, {timeout: 10_000})
      .toBeGreaterThanOrEqual(2);
    await expect(carol.getByTestId('admin-view').textContent({timeout: STEP})).resolves.toContain(
      `Plan the ${mode} launch`,
    );
    expect(await bob.getByTestId('admin-view').count()).toBe(0);
    expect(await localRows(bob, 'audit')).toEqual([]);
    expect(await localRows(alice, 'audit')).toEqual([]);
    if (mode === 'secret') {
      // The README's screenshot: rewritten when missing or with ZYNC_UPDATE_SCREENSHOT=1,
      // so that an ordinary test run leaves the work tree clean.
      const png = await carol.screenshot({timeout: STEP});
      expect(png.length).toBeGreaterThan(10_000);
      const file = new URL('../../../docs/screenshot.png', import.meta.url).pathname;
      if (process.env['ZYNC_UPDATE_SCREENSHOT'] === '1' || !existsSync(file)) {
        writeFileSync(file, png);
      }
    }
  });

  test('tokens are refreshed while connected, with no disconnect and no lost write', async () => {
    const alice = pages[0]!;
    const states = () =>
      alice.evaluate(() => (window as unknown as DebugWindow).__hello.states.join(','));
    if (mode === 'cookie') {
      // No token in the page: nothing to refresh; the session cookie lives for hours.
      expect(stack.api.stats.refreshes).toBeGreaterThanOrEqual(0);
      return;
    }
    const refreshes = stack.api.stats.refreshes;
    await vi.waitFor(() => expect(stack.api.stats.refreshes).toBeGreaterThan(refreshes), {
      timeout: 10_000,
    });
    // A write right around a refresh reaches Postgres.
    await addIssue(alice, `written during refresh (${mode})`);
    const now = stack.api.stats.refreshes;
    await vi.waitFor(() => expect(stack.api.stats.refreshes).toBeGreaterThan(now), {
      timeout: 10_000,
    });
    await vi.waitFor(
      async () =>
        expect(
          await pgQuery(stack.upstreamUrl, `SELECT 1 FROM issue WHERE title = $1`, [
            `written during refresh (${mode})`,
          ]),
        ).toHaveLength(1),
      {timeout: 10_000},
    );
    expect(await states()).toMatch(/^(connecting,)?connected$/);
  });

  test('logout drops the local databases; logging back in resyncs', async () => {
    const bob = pages[1]!;
    await bob.getByRole('button', {name: 'Log out'}).click({timeout: STEP});
    const dropped = await bob.getByTestId('dropped').textContent({timeout: STEP});
    expect(dropped).toMatch(/Dropped [1-9]\d* local database/);
    expect(dropped).toContain('zync/bob/');
    await loginAs(bob, 'Bob');
    await expect.poll(() => issueRows(bob).count(), {timeout: 15_000}).toBeGreaterThanOrEqual(6);
  });
});
