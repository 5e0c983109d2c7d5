// The build of the published `zync` package: the internal workspaces (@zync/*) are compiled
// into it, third-party packages stay imports (dependencies and peer dependencies). Two
// outputs: the library entry points with bundled `.d.ts`, and the commands (with the child
// processes zero-cache starts: initial copy, replicator, sync worker), which need no types.
// See docs/packaging.md.
import {defineConfig} from 'tsdown';
import type {UserConfig} from 'tsdown';

const external: (string | RegExp)[] = [
  /^node:/,
  'better-sqlite3',
  'expo-sqlite',
  'jose',
  'pg',
  'pg-copy-streams',
  'pg-logical-replication',
  'postgres',
  'react',
  'react/jsx-runtime',
  'sql-template-tag',
  'prom-client',
  /^@opentelemetry\//,
  'esbuild',
  'undici',
  'valibot',
  'ws',
];

const common: UserConfig = {
  format: 'esm',
  platform: 'node',
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  deps: {neverBundle: external, alwaysBundle: [/^@zync\//]},
  fixedExtension: false,
  hash: true,
  sourcemap: false,
  treeshake: true,
  report: false,
};

/**
 * The commands and the child processes zero-cache starts. The test run builds these too, once,
 * into a temporary folder (test/compiled-bins.ts).
 */
export const commands: UserConfig = {
  ...common,
  entry: {
    'zero-cache': '../cache/src/bin/zero-cache.ts',
    'zero-cache-dev': '../cache/src/bin/zero-cache-dev.ts',
    'zero-deploy-permissions': '../cache/src/bin/zero-deploy-permissions.ts',
    'analyze-query': '../cache/src/bin/analyze-query.ts',
    'copy-child': '../cache/src/replicator/copy-child.ts',
    replicator: '../cache/src/processes/replicator-process.ts',
    'sync-worker': '../cache/src/processes/sync-worker.ts',
  },
  outDir: 'dist/bin',
  clean: false,
  dts: false,
  // The commands start as new processes, where loading many small module files costs more
  // than the code itself: their pure-JavaScript dependencies are bundled in. The native
  // addon, esbuild (its own binary; loaded only to compile a schema file) and the drivers'
  // optional native helpers stay imports, and so do the metrics packages (prom-client is
  // CommonJS; the OpenTelemetry SDK is loaded only when an OTLP endpoint is set).
  deps: {
    neverBundle: [
      /^node:/,
      'prom-client',
      /^@opentelemetry\//,
      'better-sqlite3',
      'esbuild',
      'pg-native',
      'bufferutil',
      'utf-8-validate',
    ],
    alwaysBundle: [
      /^@zync\//,
      'pg',
      'pg-copy-streams',
      'pg-logical-replication',
      'jose',
      'ws',
      'valibot',
      'sql-template-tag',
      'undici',
    ],
  },
  outputOptions: {
    banner: chunk => (chunk.isEntry ? '#!/usr/bin/env node\n' : ''),
  },
};

export default defineConfig([
  {
    ...common,
    entry: {
      index: 'src/index.ts',
      react: 'src/react.ts',
      server: 'src/server.ts',
      'server-adapters-pg': 'src/server-adapters-pg.ts',
      'server-adapters-postgresjs': 'src/server-adapters-postgresjs.ts',
      sqlite: 'src/sqlite.ts',
      'react-native': 'src/react-native.ts',
    },
    outDir: 'dist',
    clean: true,
    dts: {eager: true},
    outputOptions: {
      // React Server Components frameworks need the hooks' module marked as client code.
      banner: chunk => (chunk.isEntry && chunk.name === 'react' ? "'use client';\n" : ''),
    },
  },
  commands,
]);
