// The hello app written in Zero 1.x's API (`npm start -- --api=1x`), in a real Chromium:
// defined queries and mutators, the context computed by the API server from the session
// cookie that zero-cache forwards, zero-cache without the legacy API.
import pg from 'pg';
import type {Browser, Page} from 'playwright-core';
import {afterAll, beforeAll, beforeEach, expect, test} from 'vitest';
import {WebSocket} from 'ws';
import {Zero} from 'zync';
import {mutators} from '../shared-1x/mutators.ts';
import {queries, zql} from '../shared-1x/queries.ts';
import {schema} from '../shared-1x/schema.ts';
import type {TestStack} from './browser.ts';
import {describePage, launchBrowser, loginAs, openAs, startTestStack, STEP} from './browser.ts';

let browser: Browser;
let stack: TestStack;
const pages: Page[] = [];

beforeAll(async () => {
  [browser, stack] = await Promise.all([launchBrowser(), startTestStack('cookie', {api: '1x'})]);
});
beforeEach(({onTestFailed}) => {
  onTestFailed(async () => {
    for (const [i, p] of pages.entries()) console.error(await describePage(p, `page ${i}`));
    console.error(stack.logs.slice(-60).join('\n'));
  });
});
afterAll(async () => {
  for (const p of pages) await p.context().close();
  await stack?.stop();
  await browser?.close();
});

const issueRows = (page: Page) => page.getByTestId('issues').locator('.row');
const titleOf = (page: Page, id: string) =>
  page.locator(`.row[data-id="${id}"] .title`).textContent({timeout: 1_000});

async function pgQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
  const c = new pg.Client({connectionString: stack.upstreamUrl});
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function editTitle(page: Page, id: string, title: string): Promise<void> {
  const row = page.locator(`.row[data-id="${id}"]`);
  await row.getByRole('button', {name: 'Edit'}).click({timeout: STEP});
  await row.getByLabel('title').fill(title, {timeout: STEP});
  await row.getByRole('button', {name: 'Save'}).click({timeout: STEP});
}

/** The rows of a table in the page's local store (the legacy `zero.query` is off). */
function localRows(page: Page, table: string): Promise<unknown[]> {
  return page.evaluate(t => window.__hello1x!.localRows(t as 'issue') as Promise<unknown[]>, table);
}

test('the 1.x page lists the issues through the API server; a new issue reaches the other user', async () => {
  const alice = await openAs(browser, stack, 'Alice');
  const bob = await openAs(browser, stack, 'Bob');
  pages.push(alice, bob);
  await expect.poll(() => issueRows(alice).count(), {timeout: 15_000}).toBe(5);
  await expect.poll(() => issueRows(bob).count(), {timeout: 15_000}).toBe(5);
  await expect
    .poll(() => alice.getByTestId('connection').textContent(), {timeout: STEP})
    .toBe('connected');
  expect(await alice.title()).toBe('hello zync (1.x)');
  expect(stack.api.stats.getQueries).toBeGreaterThan(0);

  await alice.getByLabel('new issue title').fill('Plan the 1.x launch', {timeout: STEP});
  await alice.getByRole('button', {name: 'Add'}).click({timeout: STEP});
  await bob.getByText('Plan the 1.x launch').waitFor({timeout: STEP});
  // The owner comes from the server's context (the cookie), the audit row from the server.
  expect(await pgQuery(`SELECT owner_id FROM issue WHERE title = 'Plan the 1.x launch'`)).toEqual([
    {owner_id: 'alice'},
  ]);
  expect(
    await pgQuery(`SELECT actor_id, action FROM audit WHERE title = 'Plan the 1.x launch'`),
  ).toEqual([{actor_id: 'alice', action: 'create'}]);
});

test('the filters change the defined query: its args are validated and sent', async () => {
  const bob = pages[1]!;
  await bob.getByLabel('status').selectOption('closed');
  await expect.poll(() => issueRows(bob).count(), {timeout: STEP}).toBe(1);
  await bob.getByLabel('status').selectOption('all');
  await bob.getByLabel('search').fill('dark');
  await expect.poll(() => issueRows(bob).count(), {timeout: STEP}).toBe(1);
  await bob.getByLabel('search').fill('');
  await expect.poll(() => issueRows(bob).count(), {timeout: STEP}).toBe(6);
});

test('alice edits her own issue: saved in Postgres, seen by bob', async () => {
  const [alice, bob] = pages as [Page, Page];
  await editTitle(alice, 'welcome', 'Welcome to the 1.x demo');
  await expect.poll(() => titleOf(bob, 'welcome'), {timeout: STEP}).toBe('Welcome to the 1.x demo');
  await expect
    .poll(async () => (await pgQuery(`SELECT title FROM issue WHERE id = 'welcome'`))[0], {
      timeout: STEP,
    })
    .toEqual({title: 'Welcome to the 1.x demo'});
});

test("bob's edit of alice's issue is refused by the server, rolled back, and the page says why", async () => {
  const bob = pages[1]!;
  const pushes = stack.api.stats.pushes;
  await editTitle(bob, 'offline', 'Bob was here');
  await expect
    .poll(() => bob.getByTestId('error').textContent({timeout: 1_000}), {timeout: 10_000})
    .toBe('Editing was refused: Only the owner of an issue or an admin can change it');
  await expect
    .poll(() => titleOf(bob, 'offline'), {timeout: STEP})
    .toBe('Edits made offline should sync when back online');
  expect(stack.api.stats.pushes).toBeGreaterThan(pushes);
  expect(await pgQuery(`SELECT title FROM issue WHERE id = 'offline'`)).toEqual([
    {title: 'Edits made offline should sync when back online'},
  ]);
});

test('only the admin gets the audit log; the legacy API is off in the page', async () => {
  const [alice, bob] = pages as [Page, Page];
  const carol = await openAs(browser, stack, 'Carol');
  pages.push(carol);
  await expect
    .poll(() => carol.getByTestId('admin-view').textContent({timeout: 1_000}), {timeout: STEP})
    .toContain('Plan the 1.x launch');
  expect(await bob.getByTestId('admin-view').count()).toBe(0);
  expect(await localRows(bob, 'audit')).toEqual([]);
  expect(await localRows(alice, 'audit')).toEqual([]);
  expect(await localRows(carol, 'audit')).not.toEqual([]);
  const legacy = await bob.evaluate(() => {
    const zero = (window as unknown as {__hello: {zero: {query: {issue: unknown}}}}).__hello.zero;
    try {
      return String(zero.query.issue);
    } catch (e) {
      return e instanceof TypeError ? 'TypeError' : String(e);
    }
  });
  expect(legacy).toBe('TypeError');
});

test('logout drops the local data; logging back in resyncs', async () => {
  const bob = pages[1]!;
  await bob.getByRole('button', {name: 'Log out'}).click({timeout: STEP});
  const dropped = await bob.getByTestId('dropped').textContent({timeout: STEP});
  expect(dropped).toContain('zync/bob/');
  await loginAs(bob, 'Bob');
  await expect.poll(() => issueRows(bob).count(), {timeout: 15_000}).toBe(6);
});

test("a client without userID or cookie is 'anon'; the context it claims decides nothing", async () => {
  // Node 20 has no global WebSocket; the client uses the global one.
  (globalThis as {WebSocket?: unknown}).WebSocket ??= WebSocket;
  const config = (await (await fetch(`${stack.api.url}/api/config`)).json()) as {
    cachePort: number;
  };
  const zero = new Zero({
    cacheURL: `http://127.0.0.1:${config.cachePort}`,
    schema,
    mutators,
    kvStore: 'mem',
    context: {userID: 'mallory', role: 'admin'},
  });
  try {
    expect(zero.userID).toBe('anon');
    // The users query needs no login: its answer, made for no user, is accepted for 'anon'.
    const users = await zero.run(queries.users(), {type: 'complete'});
    expect(users.map(u => u.id)).toEqual(['alice', 'bob', 'carol']);
    await expect(
      zero.run(queries.issues({open: null, ownerID: null, text: ''}), {type: 'complete'}),
    ).rejects.toThrow('Log in to see the issues');
    // Its create passes on the client, as 'mallory'; the server, with no session, refuses
    // it, and the row is rolled back.
    const r = zero.mutate(
      mutators.issue.create({id: 'by-anon', title: 'anonymous issue', created: 1}),
    );
    expect(await r.client).toEqual({type: 'success'});
    expect(await r.server).toMatchObject({
      type: 'error',
      error: {type: 'app', message: 'Log in to create issues'},
    });
    expect(await zero.run(zql.issue.where('id', 'by-anon'))).toEqual([]);
    expect(await pgQuery(`SELECT id FROM issue WHERE id = 'by-anon'`)).toEqual([]);
  } finally {
    await zero.close();
  }
});
