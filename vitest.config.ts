import {defaultServerConditions} from 'vite';
import {defineConfig} from 'vitest/config';

// `zync` resolves to its sources in the repository (see packages/zync/package.json).
const SOURCE = 'zync-source';
// Vitest hands these conditions to Node too (`--conditions`), for packages it does not
// transform. `module` is a bundlers' condition: under it Node would load ESM builds meant
// for bundlers (e.g. @opentelemetry/api's, with extensionless imports), which Node cannot
// run. Node in production never sets it; neither do the tests.
const conditions = [SOURCE, ...defaultServerConditions.filter(c => c !== 'module')];

export default defineConfig({
  ssr: {resolve: {conditions}},
  test: {
    include: [
      'packages/**/*.test.ts',
      'packages/**/*.test.tsx',
      'examples/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    globalSetup: ['test/tmp-global-setup.ts', 'test/compiled-bins.ts', 'test/pg-global-setup.ts'],
    // Waits are for conditions; their limits only bound how long a broken test takes to fail.
    // Node 20 has no global WebSocket: every file gets ws's.
    setupFiles: ['test/wait-limits.ts', 'test/websocket-global.ts'],
    expect: {poll: {timeout: 10_000}},
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // A worker process runs file after file and keeps the modules it loaded: a new process
    // per file cost about a second of start-up and module loading each, a fifth of the
    // suite's time on 2 cores. So a test file must leave no state behind in shared modules
    // or globals (timers, listeners, stubbed globals): it restores what it changes.
    isolate: false,
  },
});
