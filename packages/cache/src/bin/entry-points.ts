// Where zero-cache's own process entry points are, for the processes it starts itself (the
// initial-copy child, the replicator and sync workers, and zero-cache under zero-cache-dev).
// In the repository they are the TypeScript sources, run through tsx; in the published
// package they are the compiled files that the build puts side by side in one folder.
import {createRequire} from 'node:module';
import {pathToFileURL} from 'node:url';

export type EntryPoint = 'zero-cache' | 'copy-child' | 'replicator' | 'sync-worker';

export type ResolvedEntry = {
  readonly file: URL;
  /** Node flags the child needs to run `file`. */
  readonly execArgv: readonly string[];
};

const SOURCES: Record<EntryPoint, string> = {
  'zero-cache': './zero-cache.ts',
  'copy-child': '../replicator/copy-child.ts',
  replicator: '../processes/replicator-process.ts',
  'sync-worker': '../processes/sync-worker.ts',
};

/** The export condition under which `zync` resolves to its sources. */
const SOURCE = 'zync-source';

/** True when this module runs from the compiled package rather than from its source. */
const runningCompiled = !import.meta.url.endsWith('.ts');

export function resolveEntry(name: EntryPoint): ResolvedEntry {
  // Children keep the parent's resolution conditions: an app's schema file, which a child may
  // compile, resolves its imports as it would in the parent.
  const inherited = conditionFlags(process.execArgv);
  if (runningCompiled) {
    return {file: new URL(`./${name}.js`, import.meta.url), execArgv: inherited};
  }
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  // From the sources, `zync` resolves to its sources too.
  const conditions = new Set([...inherited, `--conditions=${SOURCE}`]);
  return {
    file: new URL(SOURCES[name], import.meta.url),
    execArgv: [...conditions, '--import', tsx],
  };
}

/** The `--conditions` / `-C` flags of a node command line, each as one `--conditions=x`. */
export function conditionFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const m = /^(?:--conditions|-C)(?:=(.*))?$/.exec(execArgv[i]!);
    if (!m) continue;
    const value = m[1] ?? execArgv[++i];
    if (value !== undefined) out.push(`--conditions=${value}`);
  }
  return out;
}
