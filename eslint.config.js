import tseslint from 'typescript-eslint';
import {layeringPlugin} from './eslint-rules/package-boundary.js';

const layers = {
  shared: [],
  pg: ['shared'],
  protocol: ['shared'],
  zql: ['shared', 'protocol'],
  client: ['shared', 'protocol', 'zql'],
  react: ['client', 'zql', 'shared', 'protocol'],
  cache: ['shared', 'pg', 'protocol', 'zql'],
  server: ['shared', 'pg', 'protocol', 'zql'],
};
const all = Object.keys(layers);

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '.data/**',
      '**/dist/**',
      'coverage/**',
      '**/*.js',
      '**/*.mjs',
      // apps of their own, type-checked with their own tsconfig by the packaging tests
      'test/packaging/fixtures/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['packages/**/*.ts', 'packages/**/*.tsx'],
    plugins: {layering: layeringPlugin},
    rules: {'layering/package-boundary': 'error'},
  },
  {
    languageOptions: {
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_'},
      ],
      'no-console': 'error',
    },
  },
  // Layering: each part may import only the parts below it (see ARCHITECTURE.md).
  ...Object.entries(layers).map(([part, allowed]) => ({
    files: [`packages/${part}/src/**/*.ts`, `packages/${part}/src/**/*.tsx`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: all.filter(p => p !== part && !allowed.includes(p)).map(p => `@zync/${p}`),
              message: `packages/${part} may import only: ${allowed.join(', ') || 'nothing of ours'}.`,
            },
            {group: ['zync', 'zync/*'], message: 'Internal packages must not import the facade.'},
          ],
        },
      ],
    },
  })),
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'test/**', 'scripts/**', 'bench/**', '**/*.bench.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
