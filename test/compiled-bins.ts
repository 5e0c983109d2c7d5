// The test run's commands. Tests that start zero-cache, analyze-query or another command as a
// process run it compiled once, at the start of the run, from the current sources, by the
// package's own build of its commands (packages/zync/tsdown.config.ts). Through tsx, each
// such process, and each child zero-cache forks, spent about half a second of CPU loading
// the sources, and the suite starts a few hundred of them. The output goes to a folder of its
// own under the repository's node_modules/.cache: the commands import their external
// packages (better-sqlite3, esbuild, ...) from the repository's node_modules, as the
// package's dist/bin does. `sourceBinArgs` (scripts/source-bin.ts) finds the folder in the
// environment. ZYNC_TEST_BINS=source runs the sources through tsx instead.
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {build} from 'tsdown';
import {COMPILED_BINS_ENV, REPO_ROOT} from '../scripts/source-bin.ts';
import {commands} from '../packages/zync/tsdown.config.ts';

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env['ZYNC_TEST_BINS'] === 'source') return undefined;
  const cache = join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, {recursive: true});
  const dir = mkdtempSync(join(cache, 'zync-test-bins-'));
  await build({
    ...commands,
    config: false,
    cwd: join(REPO_ROOT, 'packages', 'zync'),
    outDir: dir,
    logLevel: 'warn',
  });
  process.env[COMPILED_BINS_ENV] = dir;
  return () => {
    delete process.env[COMPILED_BINS_ENV];
    rmSync(dir, {recursive: true, force: true});
  };
}
