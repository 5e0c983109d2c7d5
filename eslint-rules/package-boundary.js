import path from 'node:path';

// Every import of a package's production code stays inside the package or goes through the
// `@zync/*` name of a package below it (checked by the layers below). This rule catches what
// `no-restricted-imports` cannot see: relative paths that climb into another package or into
// test code, and `@zync/<part>/test/...` imports from production code.
const repoRoot = path.dirname(import.meta.dirname);
const isTestCode = rel => /\.(test|bench)\.tsx?$/.test(rel) || /^packages\/[^/]+\/test\//.test(rel);
export const layeringPlugin = {
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
