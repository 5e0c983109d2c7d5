import {test} from 'vitest';
import {MemorySource} from './memory-source.ts';
import {checkSourceContract} from './test-harness/source-contract.ts';

test('MemorySource honours the Source contract (fetch, push visibility)', () => {
  checkSourceContract(spec => new MemorySource(spec.name, spec.primaryKey), {numRuns: 500});
});
