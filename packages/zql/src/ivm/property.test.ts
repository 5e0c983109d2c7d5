import {test} from 'vitest';
import {MemorySource} from './memory-source.ts';
import {checkSourceProperty} from '../../test/ivm-harness/source-property.ts';

const memory = (spec: {name: string; primaryKey: readonly [string, ...string[]]}) =>
  new MemorySource(spec.name, spec.primaryKey);

test('incremental views equal evaluate() after every change (MemorySource)', () => {
  checkSourceProperty(memory, {numRuns: 4000});
}, 120_000);

test('row set equals the rows the query touches (MemorySource)', () => {
  checkSourceProperty(memory, {numRuns: 3000, rowSet: true});
}, 120_000);

test('larger tables and windows (B-tree pages, deep limits)', () => {
  checkSourceProperty(memory, {numRuns: 150, scale: 8, rowSet: true});
}, 120_000);
