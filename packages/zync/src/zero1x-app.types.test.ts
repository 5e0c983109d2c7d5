// A Zero 1.x app (test/types/zero1x-app) type-checks against zync. It is compiled as a
// program of its own because its `declare module 'zync'` augmentation of DefaultTypes
// applies to every file of the program it is in. Its `@ts-expect-error` lines make the
// check two-sided: a type that got looser fails as surely as one that broke.
import {fileURLToPath} from 'node:url';
import ts from 'typescript';
import {expect, test} from 'vitest';

test('a Zero 1.x app, DefaultTypes augmentation included, type-checks', () => {
  const config = fileURLToPath(
    new URL('../../../test/types/zero1x-app/tsconfig.json', import.meta.url),
  );
  const parsed = ts.getParsedCommandLineOfConfigFile(
    config,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: d => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('the fixture has no tsconfig');
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const errors = ts.getPreEmitDiagnostics(program).map(d => {
    const where = d.file ? `${d.file.fileName.split('/').pop()}:${d.start}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  expect(errors).toEqual([]);
  expect(parsed.fileNames.some(f => f.endsWith('app.tsx'))).toBe(true);
});
