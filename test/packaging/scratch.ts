// Scratch apps for the packaging tests: folders outside the repository, installed from the
// packed tarball by npm as a user's project would be (no links to this repository).
import {spawn} from 'node:child_process';
import {cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';

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

/** The repository's own better-sqlite3 (installed by `npm ci`): its folder and version. */
export const REPO_SQLITE = (() => {
  const manifest = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
  const {version} = JSON.parse(readFileSync(manifest, 'utf8')) as {version: string};
  return {dir: dirname(manifest), version};
})();

/** Where better-sqlite3 keeps its compiled addon, in the package's folder. */
export const SQLITE_ADDON = join('build', 'Release', 'better_sqlite3.node');

/**
 * Packs the addon the repository compiled for its own better-sqlite3 as the prebuilt binary
 * that better-sqlite3's install script (prebuild-install) looks for in a local folder before
 * it downloads one or compiles: same package version, same Node ABI, platform and
 * architecture, so it is the file that install would have produced. `.prebuild-installrc` in
 * `root` (prebuild-install reads it from the package's folder upwards) names that folder for
 * every app under `root`.
 */
export async function localPrebuild(root: string): Promise<void> {
  const dir = join(root, 'prebuilds');
  mkdirSync(dir, {recursive: true});
  const {version} = REPO_SQLITE;
  const abi = process.versions.modules;
  const name = `better-sqlite3-v${version}-node-v${abi}-${process.platform}-${process.arch}.tar.gz`;
  await mustRun('tar', ['-czf', join(dir, name), '-C', REPO_SQLITE.dir, SQLITE_ADDON], root);
  writeFileSync(join(root, '.prebuild-installrc'), JSON.stringify({'local-prebuilds': dir}));
}

/** `npm install` in an app, from the registry (npm's cache first). */
export function install(dir: string): Promise<string> {
  return mustRun(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    dir,
    // Should better-sqlite3 compile after all (no matching local prebuild), unoptimised:
    // the last -O wins, and these apps hold a few rows.
    userEnv({CFLAGS: '-O0', CXXFLAGS: '-O0'}),
  );
}
