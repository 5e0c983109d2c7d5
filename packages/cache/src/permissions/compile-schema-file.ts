// Turns an app's schema file (TypeScript or JavaScript, with the app's own files it imports)
// into one ES module, with esbuild: the app's files are bundled, packages stay imports,
// each resolved from the schema file's folder to an absolute file URL. The result can then
// be imported from a `data:` URL by plain `node`, with no loader hooks, and each compile is
// a fresh module: a reload sees edited files.
import {isAbsolute} from 'node:path';
import {pathToFileURL} from 'node:url';
import type {Plugin} from 'esbuild';
import {conditionFlags} from '../bin/entry-points.ts';

export type CompiledSchemaFile = {
  /** The module's source text. */
  readonly code: string;
};

const RESOLVING = Symbol('resolving');

/** Packages (bare specifiers) become imports of the file they resolve to, by absolute URL. */
const packagesAsFileURLs: Plugin = {
  name: 'packages-as-file-urls',
  setup(build) {
    build.onResolve({filter: /^[^./]/}, async args => {
      if (isAbsolute(args.path) || args.pluginData === RESOLVING) return undefined;
      if (args.path.startsWith('node:')) return {path: args.path, external: true};
      const r = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: RESOLVING,
      });
      if (r.errors.length > 0) return {errors: r.errors};
      if (r.external) return {path: r.path, external: true};
      // A package that resolves to TypeScript (this repository's own sources, through the
      // `zync-source` condition) cannot be imported by plain node: it is bundled instead.
      if (/\.[cm]?tsx?$/.test(r.path)) return {path: r.path};
      return {path: pathToFileURL(r.path).href, external: true};
    });
  },
};

export async function compileSchemaFile(file: string): Promise<CompiledSchemaFile> {
  const {build} = await import('esbuild');
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // the same conditions as this process, so that the repository resolves its sources
    conditions: conditionFlags(process.execArgv).map(f => f.slice('--conditions='.length)),
    logLevel: 'silent',
    sourcemap: 'inline',
    plugins: [packagesAsFileURLs],
  });
  return {code: result.outputFiles[0]?.text ?? ''};
}

/** Imports a compiled schema file as a fresh module. */
export async function importCompiled(
  compiled: CompiledSchemaFile,
): Promise<Record<string, unknown>> {
  const url = `data:text/javascript;base64,${Buffer.from(compiled.code).toString('base64')}`;
  return (await import(url)) as Record<string, unknown>;
}
