// The package-boundary lint rule: production code stays inside its package and out of test
// code, whatever form the import takes.
import {join} from 'node:path';
import {Linter} from 'eslint';
import {describe, expect, test} from 'vitest';
import {layeringPlugin} from '../../eslint-rules/package-boundary.js';

const root = join(import.meta.dirname, '../..');
const linter = new Linter({configType: 'flat', cwd: root});
const config = [
  {
    files: ['**/*.ts'],
    plugins: {layering: layeringPlugin},
    rules: {'layering/package-boundary': 'error' as const},
  },
];

function errors(file: string, code: string): string[] {
  return linter
    .verify(code, config, {filename: join(root, file)})
    .map(m => `${m.line}: ${m.message}`);
}

describe('package-boundary', () => {
  const prod = 'packages/cache/src/server/x.ts';

  test('relative imports inside the package and @zync imports pass', () => {
    expect(
      errors(
        prod,
        `import {a} from './connection.ts';\nimport {b} from '../cvr/cvr.ts';\nimport {c} from '@zync/zql';\n`,
      ),
    ).toEqual([]);
  });

  test('a relative import into another package fails, in every import form', () => {
    const code = [
      `import {a} from '../../../zql/src/index.ts';`,
      `export {b} from '../../../shared/src/hash.ts';`,
      `export * from '../../../protocol/src/frames.ts';`,
      `const m = await import('../../../client/src/index.ts');`,
    ].join('\n');
    const found = errors(prod, code);
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^1: Relative import into packages\/zql; import '@zync\/zql'/);
    expect(found[3]).toMatch(/^4: Relative import into packages\/client/);
  });

  test('production code may not import test code or leave the packages', () => {
    expect(errors(prod, `import {h} from '../../test/sync/harness.ts';`)).toEqual([
      expect.stringMatching(/out of test code/),
    ]);
    expect(errors(prod, `import {p} from '../../../../test/pg.ts';`)).toEqual([
      expect.stringMatching(/must stay inside its package/),
    ]);
    expect(errors(prod, `import {s} from '@zync/zql/test/ivm-harness/schema.ts';`)).toEqual([
      expect.stringMatching(/must not import test code/),
    ]);
  });

  test('tests and test helpers may use their package test code and the shared helpers', () => {
    const code = `import {h} from '../../test/sync/harness.ts';\nimport {p} from '../../../../test/pg.ts';\nimport {s} from '@zync/zql/test/ivm-harness/schema.ts';\n`;
    expect(errors('packages/cache/src/server/x.test.ts', code)).toEqual([]);
    expect(
      errors('packages/cache/test/helper.ts', `import {p} from '../../../test/pg.ts';`),
    ).toEqual([]);
    // …but not another package's sources by a relative path.
    expect(
      errors('packages/cache/src/server/x.test.ts', `import {a} from '../../../zql/src/index.ts';`),
    ).toHaveLength(1);
  });

  test('files outside the packages are not checked', () => {
    expect(errors('bench/x.bench.ts', `import {a} from '../packages/zql/src/index.ts';`)).toEqual(
      [],
    );
  });
});
