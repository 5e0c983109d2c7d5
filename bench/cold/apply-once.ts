// The client's part of a cold initial sync, once, in this (new) process: parts of 5,000
// rows decoded and prepared as they would arrive, then the poke applied to a live all-rows
// view. No network, no server; for profiling and before/after figures of the apply. Prints
// wall times and the main thread's CPU time of each step (Linux; see node-cpu.ts).
//
//   node --conditions=zync-source --import tsx bench/cold/apply-once.ts 100000
import {decodeDownstream, encodeFrame} from '@zync/protocol';
import type {PokeBody, PokePartBody} from '@zync/protocol';
import {createBuilder, createSchema, number, string, table} from '@zync/zql';
import {materialize} from '@zync/zql/ivm';
import {LocalState} from '../../packages/client/src/zero/local-state.ts';
import {cpuFigures} from './node-cpu.ts';

const rows = Number(process.argv[2] ?? 100_000);
const PART = 5000;
const schema = createSchema({
  tables: [
    table('item')
      .columns({id: number(), owner: number(), title: string(), score: number()})
      .primaryKey('id'),
  ],
});
const frames: string[] = [];
for (let start = 1; start <= rows; start += PART) {
  const values: [number, number, string, number][] = [];
  for (let i = start; i < start + PART && i <= rows; i++) {
    values.push([i, i % 100, `row title ${i}`, i * 0.5]);
  }
  const part: PokePartBody = {
    pokeID: '1',
    rows: [{op: 'puts', table: 'item', columns: ['id', 'owner', 'title', 'score'], values}],
  };
  frames.push(encodeFrame(['pokePart', part]));
}
const poke: PokeBody = {
  pokeID: '1',
  baseVersion: null,
  version: '01',
  rows: [],
  gotQueries: [{op: 'put', hash: 'h'}],
  lastMutationIDChanges: {},
};
const local = new LocalState(schema);
const view = materialize(
  createBuilder(schema).item.ast,
  {getSource: t => local.sources.get(t)},
  {batcher: local.batcher},
);
const main = () => cpuFigures().mainCpuMs ?? NaN;
const t0 = performance.now();
const c0 = main();
const decoded = frames.map(f => (decodeDownstream(f)[1] as PokePartBody).rows);
const c1 = main();
const prepared = decoded.map(d => local.prepareRows(d));
const t1 = performance.now();
const c2 = main();
local.applyPoke(poke, prepared);
const t2 = performance.now();
const c3 = main();
if ((view.data as unknown[]).length !== rows) throw new Error('view is short');
const ms = (v: number) => +v.toFixed(1);
console.log(
  JSON.stringify({
    rows,
    decodeAndPrepareMs: ms(t1 - t0),
    applyMs: ms(t2 - t1),
    decodeCpuMs: ms(c1 - c0),
    prepareCpuMs: ms(c2 - c1),
    applyCpuMs: ms(c3 - c2),
    processCpuMs: ms(cpuFigures().cpuMs),
  }),
);
