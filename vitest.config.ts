import {defaultServerConditions} from 'vite';
import {defineConfig} from 'vitest/config';

// `zync` resolves to its sources in the repository (see packages/zync/package.json).
const SOURCE = 'zync-source';

export default defineConfig({
  ssr: {resolve: {conditions: [SOURCE, ...defaultServerConditions]}},
  test: {
    include: [
      'packages/**/*.test.ts',
      'packages/**/*.test.tsx',
      'examples/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    globalSetup: ['test/pg-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
