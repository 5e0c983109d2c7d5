import path from 'node:path';
import tseslint from 'typescript-eslint';

// Every import of a package's production code stays inside the package or goes through the
// `@zync/*` name of a package below it (checked by the layers below). This rule catches what
// `no-restricted-imports` cannot see: relative paths that climb into another package or into
// test code, and `@zync/<part>/test/...` imports from production code.
const repoRoot = import.meta.dirname;
const isTestCode = rel => /\.(test|bench)\.tsx?$/.test(rel) || /^packages\/[^/]+\/test\//.test(rel);
const layeringPlugin = {
  rules: {
    'package-boundary': {
      meta: {type: 'problem', schema: []},
      create(context) {
        const rel = path.relative(repoRoot, context.filename).split(path.sep).join('/');
        const own = /^packages\/([^/]+)\//.exec(rel)?.[1];
        if (own === undefined) return {};
        const testCode = isTestCode(rel);
        const check = node => {
          const spec = node?.type === 'Literal' ? node.value : undefined;
          if (typeof spec !== 'string') return;
          if (!spec.startsWith('.')) {
            if (!testCode && /^@zync\/[^/]+\/test\//.test(spec)) {
              context.report({
                node,
                message: `Production code must not import test code (${spec}).`,
              });
            }
            return;
          }
          const target = path
            .relative(repoRoot, path.resolve(path.dirname(context.filename), spec))
            .split(path.sep)
            .join('/');
          const to = /^packages\/([^/]+)\//.exec(target)?.[1];
          if (testCode) {
            // Tests and benchmarks may also use the repository's shared test, bench and
            // script helpers.
            if (to === own || /^(test|bench|scripts)\//.test(target)) return;
          } else if (to === own && !/^packages\/[^/]+\/test\//.test(target)) {
            return;
          }
          context.report({
            node,
            message:
              to !== undefined && to !== own
                ? `Relative import into packages/${to}; import '@zync/${to}' instead (if the layering allows it).`
                : `Production code of packages/${own} must stay inside its package and out of test code (${spec}).`,
          });
        };
        return {
          ImportDeclaration: n => check(n.source),
          ExportNamedDeclaration: n => check(n.source),
          ExportAllDeclaration: n => check(n.source),
          ImportExpression: n => check(n.source),
        };
      },
    },
  },
};

const layers = {
  shared: [],
  protocol: ['shared'],
  zql: ['shared', 'protocol'],
  client: ['shared', 'protocol', 'zql'],
  react: ['client', 'zql', 'shared', 'protocol'],
  cache: ['shared', 'protocol', 'zql'],
  server: ['shared', 'protocol', 'zql'],
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
