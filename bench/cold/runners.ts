// How a cold client is started: a new Node process running the client bundled by esbuild
// (as an app ships it) or from the sources through tsx, or a new Chromium page with
// IndexedDB. Each returns the client's phases on its own clock plus the wall time the
// parent saw.
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {build} from 'esbuild';
import {SOURCE_CONDITION} from '../../scripts/source-bin.ts';
import {startBrowser} from '../../test/browser/browser-harness.ts';
import type {BrowserHarness} from '../../test/browser/browser-harness.ts';
import {onStop} from '../e2e/harness.ts';
import type {Phases} from './timed-socket.ts';

export type Run = {phases: Phases; wallMs: number};

const CLIENT = join(import.meta.dirname, 'client.ts');

export const FLOOR_CLIENT = join(import.meta.dirname, 'floor-client.ts');

/** Bundles the cold client (or another entry) into one ES module; returns its path. */
export async function bundleClient(entry = CLIENT): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zync-cold-'));
  onStop(() => Promise.resolve(rmSync(dir, {recursive: true, force: true})));
  const outfile = join(dir, 'client.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    conditions: [SOURCE_CONDITION],
    // ws loads these optional native add-ons when present.
    external: ['bufferutil', 'utf-8-validate'],
    // ws is CommonJS and requires Node's modules.
    banner: {
      js: "import {createRequire} from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
  return outfile;
}

export type NodeMode = {kind: 'bundle'; file: string} | {kind: 'tsx'};

/** Node arguments to run the cold client (`--cpu-prof` and the like go in `extra`). */
export function clientArgs(mode: NodeMode, extra: readonly string[] = []): string[] {
  if (mode.kind === 'bundle') return [...extra, mode.file];
  return [...extra, `--conditions=${SOURCE_CONDITION}`, '--import', 'tsx', CLIENT];
}

/**
 * One cold Node client: a new process, until it prints its phases. `extra`: Node options;
 * `more`: arguments after the server and the row count.
 */
export function runNodeClient(
  mode: NodeMode,
  server: string,
  rows: number,
  extra: readonly string[] = [],
  more: readonly string[] = [],
): Promise<Run> {
  const t0 = performance.now();
  const args = [...clientArgs(mode, extra), server, String(rows), ...more];
  const child = spawn(process.execPath, args, {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let wallMs = 0;
    child.stdout.once('data', () => (wallMs = performance.now() - t0));
    child.once('exit', code => {
      if (code !== 0) reject(new Error(`cold client exited ${code}: ${err.slice(-2000)}`));
      else resolve({phases: JSON.parse(out) as Phases, wallMs});
    });
  });
}

/** One cold page: a new tab in a new Chromium, IndexedDB store, until the view is complete. */
export async function runPage(server: string, rows: number): Promise<Run> {
  const h: BrowserHarness = await startBrowser({
    entry: join(import.meta.dirname, 'page-entry.ts'),
    minify: true,
  });
  try {
    const page = await h.context.newPage();
    const t0 = performance.now();
    await page.goto(`${h.baseUrl}?server=${encodeURIComponent(server)}&rows=${rows}`);
    await page.waitForFunction(() => 'cold' in window, undefined, {timeout: 30_000});
    const phases = (await page.evaluate(() => window.cold)) as Phases;
    return {phases, wallMs: performance.now() - t0};
  } finally {
    await h.close();
  }
}
