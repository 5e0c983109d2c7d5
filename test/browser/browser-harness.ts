// One Chromium per test file: the binary from `@sparticuz/chromium` (no download at run
// time), driven by playwright-core, with a persistent profile so IndexedDB lives on disk.
// The page and its bundle (esbuild, from `page-entry.ts`) are served on 127.0.0.1; the
// browser resolves no other host.
import {mkdtempSync, rmSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import {createServer} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {build} from 'esbuild';
import {SOURCE_CONDITION} from '../../scripts/source-bin.ts';
import type {BrowserContext, Page} from 'playwright-core';
import {chromium as playwright} from 'playwright-core';

export type BrowserHarness = {
  readonly context: BrowserContext;
  readonly baseUrl: string;
  /** Opens the test page in a new tab, with `window.zt` ready. */
  newPage(): Promise<Page>;
  /** Reloads a tab and waits for `window.zt` again. */
  reload(page: Page): Promise<void>;
  close(): Promise<void>;
};

const ENTRY = join(import.meta.dirname, 'page-entry.ts');

async function bundle(entry: string, minify: boolean): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // `zync` from the repository's sources (docs/packaging.md)
    conditions: [SOURCE_CONDITION],
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
    // As an app ships it (benchmarks), or debuggable (tests).
    minify,
    sourcemap: minify ? false : 'inline',
  });
  return out.outputFiles[0]!.text;
}

export async function startBrowser(
  opts: {entry?: string; minify?: boolean} = {},
): Promise<BrowserHarness> {
  const js = await bundle(opts.entry ?? ENTRY, opts.minify ?? false);
  const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/app.js') {
      res.writeHead(200, {'content-type': 'text/javascript', 'cache-control': 'no-store'});
      res.end(js);
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, {'content-type': 'text/html', 'cache-control': 'no-store'});
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const sparticuz = (await import('@sparticuz/chromium')).default;
  const executablePath = await sparticuz.executablePath();
  const profile = mkdtempSync(join(tmpdir(), 'zync-chromium-'));
  const context = await playwright.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      ...sparticuz.args,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // Nothing but 127.0.0.1 resolves.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });

  const ready = async (page: Page) => {
    await page.waitForFunction(() => 'zt' in window, undefined, {timeout: 10_000});
  };
  return {
    context,
    baseUrl,
    async newPage() {
      const page = await context.newPage();
      await page.goto(baseUrl);
      await ready(page);
      return page;
    },
    async reload(page) {
      await page.reload();
      await ready(page);
    },
    async close() {
      await context.close();
      await new Promise<void>(resolve => server.close(() => resolve()));
      rmSync(profile, {recursive: true, force: true});
    },
  };
}
