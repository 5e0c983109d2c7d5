// Test helpers: a real Chromium (from @sparticuz/chromium) and a hello stack on a test database.
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Browser, Page} from 'playwright-core';
import {chromium} from 'playwright-core';
import {freePort} from '../../../test/free-port.ts';
import {createTestDatabase} from '../../../test/pg.ts';
import {seedDatabase} from '../dev/seed.ts';
import type {ApiGeneration, Stack} from '../dev/stack.ts';
import {startStack} from '../dev/stack.ts';
import type {AuthMode} from '../server/tokens.ts';

export async function launchBrowser(): Promise<Browser> {
  const sparticuz = (await import('@sparticuz/chromium')).default;
  return chromium.launch({
    executablePath: await sparticuz.executablePath(),
    headless: true,
    // Without --single-process: in one process, browser contexts share their cookie jar, and
    // each test user needs a context of its own (its own session cookie and IndexedDB).
    args: [
      ...sparticuz.args.filter(a => a !== '--single-process'),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export type TestStack = Stack & {upstreamUrl: string; logs: string[]};

export async function startTestStack(
  mode: AuthMode,
  opts: {accessTokenTtlSeconds?: number; api?: ApiGeneration} = {},
): Promise<TestStack> {
  const name = opts.api === '1x' ? `hello_1x_${mode}` : `hello_${mode}`;
  const upstreamUrl = await createTestDatabase(name);
  await seedDatabase(upstreamUrl);
  const logs: string[] = [];
  const stack = await startStack({
    upstreamUrl,
    api: opts.api,
    mode,
    appID: name,
    replicaFile: join(mkdtempSync(join(tmpdir(), 'hello-test-')), 'replica.db'),
    authSecret: `test-secret-${crypto.randomUUID()}`,
    sessionSecret: `test-session-${crypto.randomUUID()}`,
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds,
    cachePort: await freePort(),
    webPort: await freePort(),
    onCacheLine: line => logs.push(line),
  });
  return Object.assign(stack, {upstreamUrl, logs});
}

export type DebugWindow = {
  __hello: {
    zero?: {
      run(q: unknown): Promise<unknown[]>;
      query: Record<string, unknown>;
      connection: {state: {current: {name: string}}};
    };
    states: string[];
    dropped?: string[];
  };
};

/** The longest any single Playwright step may take, so that a stuck step names itself. */
export const STEP = 15_000;

const pageLogs = new WeakMap<Page, string[]>();

/** Opens the app in a fresh browser context (own cookies and storage) and logs in. */
export async function openAs(browser: Browser, stack: Stack, userName: string): Promise<Page> {
  const context = await browser.newContext({viewport: {width: 1000, height: 720}});
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  const page = await context.newPage();
  const log: string[] = [];
  pageLogs.set(page, log);
  const at = () => new Date().toISOString().slice(11, 23);
  page.on('console', m => log.push(`${at()} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', e => log.push(`${at()} pageerror: ${e.message}`));
  page.on('requestfailed', r =>
    log.push(`${at()} requestfailed: ${r.url()} ${r.failure()?.errorText}`),
  );
  page.on('response', r => {
    if (r.status() >= 400) log.push(`${at()} response ${r.status()}: ${r.url()}`);
  });
  await page.goto(stack.pageUrl, {timeout: STEP});
  await loginAs(page, userName);
  return page;
}

export async function loginAs(page: Page, userName: string): Promise<void> {
  await page.getByRole('button', {name: new RegExp(`^${userName} `)}).click({timeout: STEP});
  await page.getByTestId('whoami').waitFor({timeout: STEP});
}

/** What a page went through, for a failure message: its console, its connection states, its rows. */
export async function describePage(page: Page, name: string): Promise<string> {
  const state = await page
    .evaluate(() => {
      const h = (window as unknown as DebugWindow).__hello;
      const rows = [...document.querySelectorAll('[data-testid="issues"] .row')].map(
        r => `${r.getAttribute('data-id')}: ${r.textContent}`,
      );
      return {
        connection: h.zero?.connection.state.current,
        states: h.states,
        error: document.querySelector('[data-testid="error"]')?.textContent,
        rows,
      };
    })
    .catch((e: unknown) => String(e));
  return [`--- ${name}: ${JSON.stringify(state, null, 2)}`, ...(pageLogs.get(page) ?? [])].join(
    '\n',
  );
}

/** The rows of a table in the page's local store (what this client has received). */
export function localRows(page: Page, table: string): Promise<unknown[]> {
  return page.evaluate(async t => {
    const h = (window as unknown as DebugWindow).__hello;
    if (!h.zero) throw new Error('not logged in');
    return h.zero.run(h.zero.query[t]);
  }, table);
}
