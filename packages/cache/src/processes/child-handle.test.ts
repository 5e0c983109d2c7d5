import {expect, test} from 'vitest';
import {profilingFlags} from './child-handle.ts';

test('the profiling flags of the command line reach the children, nothing else', () => {
  expect(
    profilingFlags([
      '--conditions=zync-source',
      '--cpu-prof',
      '--cpu-prof-dir=/profiles',
      '--cpu-prof-interval=500',
      '--import',
      'tsx',
      '--heap-prof',
      '--max-old-space-size=4096',
      '--cpu-profile',
    ]),
  ).toEqual(['--cpu-prof', '--cpu-prof-dir=/profiles', '--cpu-prof-interval=500', '--heap-prof']);
  expect(profilingFlags([])).toEqual([]);
});
