// Where zero-cache's own process entry points are, for the processes it starts itself (the
// initial-copy child, and zero-cache under zero-cache-dev). In the repository they are the
// TypeScript sources, run through tsx; in the published package they are the compiled
// files that the build puts side by side in one folder.
import {createRequire} from 'node:module';
import {pathToFileURL} from 'node:url';

export type EntryPoint = 'zero-cache' | 'copy-child';

export type ResolvedEntry = {
  readonly file: URL;
  /** Node flags the child needs to run `file`. */
  readonly execArgv: readonly string[];
};

const SOURCES: Record<EntryPoint, string> = {
  'zero-cache': './zero-cache.ts',
  'copy-child': '../replicator/copy-child.ts',
};

/** True when this module runs from the compiled package rather than from its source. */
const runningCompiled = !import.meta.url.endsWith('.ts');

export function resolveEntry(name: EntryPoint): ResolvedEntry {
  if (runningCompiled) return {file: new URL(`./${name}.js`, import.meta.url), execArgv: []};
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  // Keep the parent's resolution conditions (the repository resolves `zync` to its sources).
  return {
    file: new URL(SOURCES[name], import.meta.url),
    execArgv: [...conditionFlags(process.execArgv), '--import', tsx],
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
