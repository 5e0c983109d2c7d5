// In the repository, the commands run from their TypeScript sources (no build step in the
// inner loop): node with tsx, and the `zync-source` condition so that an app's
// `import ... from 'zync'` resolves to the sources too. The published package runs the
// compiled files in packages/zync/dist/bin instead (docs/packaging.md).
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

export const REPO_ROOT = join(import.meta.dirname, '..');

export type SourceBin =
  'zero-cache' | 'zero-cache-dev' | 'zero-deploy-permissions' | 'analyze-query';

/** The condition that resolves `zync` to its sources (see packages/zync/package.json). */
export const SOURCE_CONDITION = 'zync-source';

/**
 * Set by the test run (test/compiled-bins.ts): a folder holding the commands compiled from the
 * current sources by the package's build. The commands then run from there, still under the
 * `zync-source` condition, so that an app's schema file resolves `zync` to the sources.
 */
export const COMPILED_BINS_ENV = 'ZYNC_COMPILED_BINS';

/** Node arguments that run a command from source: `spawn(process.execPath, sourceBinArgs(..))`. */
export function sourceBinArgs(name: SourceBin): string[] {
  const compiled = process.env[COMPILED_BINS_ENV];
  if (compiled) return [`--conditions=${SOURCE_CONDITION}`, join(compiled, `${name}.js`)];
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [
    `--conditions=${SOURCE_CONDITION}`,
    '--import',
    tsx,
    join(REPO_ROOT, 'packages/cache/src/bin', `${name}.ts`),
  ];
}

/**
 * For a zero-cache dispatcher a test runs in-process (its `entries` option): its children from
 * the test run's compiled commands, or undefined when the run has none (the default then
 * forks them from the sources through tsx).
 */
export function compiledEntries():
  ((name: string) => {file: URL; execArgv: readonly string[]}) | undefined {
  const compiled = process.env[COMPILED_BINS_ENV];
  if (!compiled) return undefined;
  return name => ({
    file: pathToFileURL(join(compiled, `${name}.js`)),
    execArgv: [`--conditions=${SOURCE_CONDITION}`],
  });
}
