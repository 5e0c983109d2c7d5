// Scratch apps for the packaging tests: folders outside the repository, installed from the
// packed tarball by npm as a user's project would be (no links to this repository).
import {spawn} from 'node:child_process';
import {cpSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const ZYNC_PACKAGE = join(import.meta.dirname, '..', '..', 'packages', 'zync');

export type Run = {readonly code: number | null; readonly out: string};

/**
 * The environment of a user's shell: PATH and HOME (npm's cache), nothing of the test
 * runner's or of npm's own run of `npm test`.
 */
export function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {PATH: process.env['PATH'] ?? ''};
  const home = process.env['HOME'];
  if (home !== undefined) env['HOME'] = home;
  return {...env, ...extra};
}

/** Runs a command to its end; stdout and stderr together. */
export function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = userEnv(),
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', code => resolve({code, out}));
  });
}

export async function mustRun(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<string> {
  const r = await run(cmd, args, cwd, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.out}`);
  return r.out;
}

/** Packs packages/zync (its prepack builds it) into `dest`; returns the tarball's path. */
export async function pack(dest: string): Promise<string> {
  const out = await mustRun(
    'npm',
    ['pack', '--json', '--pack-destination', dest],
    ZYNC_PACKAGE,
    userEnv(),
  );
  const json = out.slice(out.indexOf('[\n'));
  const [info] = JSON.parse(json) as [{filename: string}];
  return join(dest, info.filename);
}

export function scratchRoot(): string {
  return mkdtempSync(join(tmpdir(), 'zync-packaging-'));
}

/** A new app folder from a fixture, with a package.json of the given dependencies. */
export function createApp(
  root: string,
  name: string,
  fixture: string,
  dependencies: Record<string, string>,
  allowScripts: Record<string, boolean> = {},
): string {
  const dir = join(root, name);
  cpSync(join(FIXTURES, fixture), dir, {recursive: true});
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({name, private: true, type: 'module', dependencies, allowScripts}, null, 2),
  );
  return dir;
}

/** `npm install` in an app, from the registry (npm's cache first). */
export function install(dir: string): Promise<string> {
  return mustRun(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    dir,
    // better-sqlite3: go straight to the compiler, without asking the network for a binary.
    // Unoptimised (the last -O wins): its optimised build of SQLite took most of this file's
    // time, and these apps hold a few rows.
    userEnv({npm_config_build_from_source: 'true', CFLAGS: '-O0', CXXFLAGS: '-O0'}),
  );
}
