// IndexedDB in real Chromium (playwright-core + @sparticuz/chromium, persistent profile so
// the data is on disk): reopen a 10k-row database and answer the first query with no
// network; apply a 10k-row poke into IndexedDB; dropAllDatabases with 10 databases.
// Run: npm run bench -- browser
import {join} from 'node:path';
import type {Page} from 'playwright-core';
import {startBrowser} from '../../test/browser/browser-harness.ts';

const RUNS = 11;
const ROWS = 10_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(xs: number[]): string {
  return `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
}

async function fresh(page: Page, reload: () => Promise<void>): Promise<void> {
  await reload();
  await page.waitForFunction(() => 'zb' in window);
}

const h = await startBrowser({entry: join(import.meta.dirname, 'bench-entry.ts')});
try {
  const page = await h.context.newPage();
  await page.goto(h.baseUrl);
  await page.waitForFunction(() => 'zb' in window);
  const reload = () => page.reload().then(() => undefined);

  const poke: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await fresh(page, reload);
    poke.push(
      await page.evaluate(([u, n]) => window.zb.pokeRows(u, n), [`poke${i}`, ROWS] as const),
    );
  }
  await fresh(page, reload);
  const stored = await page.evaluate(() => window.zb.countRows('poke0'));
  if (stored !== ROWS) throw new Error(`expected ${ROWS} rows on disk, found ${stored}`);

  const reopen: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await fresh(page, reload);
    const r = await page.evaluate(() => window.zb.reopen('poke0'));
    if (r.rows !== 100) throw new Error(`first query answered ${r.rows} rows`);
    reopen.push(r.ms);
  }

  const drop: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await fresh(page, reload);
    // Leaves only this run's 10 databases registered (the poke databases go in run 0).
    if (i === 0) await page.evaluate(() => window.zb.dropAll(0));
    const r = await page.evaluate(() => window.zb.dropAll(10));
    if (r.dropped !== 10 || r.errors !== 0)
      throw new Error(`dropped ${r.dropped}, ${r.errors} errors`);
    drop.push(r.ms);
  }

  console.log(`Chromium IndexedDB, ${ROWS} rows, ${RUNS} runs each`);
  console.log(`  apply a ${ROWS}-row poke into IndexedDB:  ${fmt(poke)}  (target ≤ 150 ms)`);
  console.log(`  reopen, first query from disk:         ${fmt(reopen)}  (target ≤ 100 ms)`);
  console.log(`  dropAllDatabases, 10 databases:        ${fmt(drop)}  (target ≤ 200 ms)`);
} finally {
  await h.close();
}
