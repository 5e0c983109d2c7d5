import {expect, test} from 'vitest';
import {conditionFlags} from './entry-points.ts';

test('condition flags are kept with their values, in every form node accepts', () => {
  expect(
    conditionFlags([
      '--conditions',
      'node',
      '--import',
      'tsx',
      '--conditions=zync-source',
      '-C',
      'development',
      '-C=x',
      '--expose-gc',
    ]),
  ).toEqual([
    '--conditions=node',
    '--conditions=zync-source',
    '--conditions=development',
    '--conditions=x',
  ]);
  expect(conditionFlags(['--import', 'tsx'])).toEqual([]);
});
