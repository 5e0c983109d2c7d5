// Decoding a large `poke` frame on the client: JSON.parse plus validation, with valibot
// (`pokeBodySchema`, the path before the hand-written validator) and with `decodeDownstream`
// (which validates pokes with `parsePokeBody`). Rows look like the initial sync of an issue
// tracker: 8 columns of strings, numbers, booleans and nulls.
// Run: npm run bench -- poke-decode
import * as v from 'valibot';
import {decodeDownstream, encodeFrame} from './frames.ts';
import {pokeBodySchema, type PokeBody} from './poke.ts';

function pokeText(rows: number): string {
  const body: PokeBody = {
    pokeID: 'p1',
    baseVersion: null,
    version: '1a2b',
    rows: [{op: 'clear'}],
    gotQueries: [{op: 'put', hash: 'h1'}],
    lastMutationIDChanges: {c1: 12},
  };
  for (let i = 0; i < rows; i++) {
    body.rows.push({
      op: 'put',
      table: 'issue',
      value: {
        id: `issue-${i}`,
        title: `Issue number ${i} has a title of some length`,
        open: i % 3 !== 0,
        modified: 1_700_000_000_000 + i,
        ownerID: `user-${i % 50}`,
        priority: i % 5,
        description: i % 7 === 0 ? null : 'Lorem ipsum dolor sit amet, consectetur adipiscing.',
        labels: i % 11 === 0 ? ['bug', 'ui'] : null,
      },
    });
  }
  return encodeFrame(['poke', body]);
}

function decodeWithValibot(text: string): unknown {
  const parsed = JSON.parse(text) as [string, unknown];
  const result = v.safeParse(pokeBodySchema, parsed[1]);
  if (!result.success) throw new Error('invalid poke');
  return result.output;
}

function decodeFast(text: string): unknown {
  return decodeDownstream(text)[1];
}

function jsonParseOnly(text: string): unknown {
  return JSON.parse(text) as unknown;
}

function msPerPoke(decode: (text: string) => unknown, text: string, iterations: number): number {
  decode(text); // warm up
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    decode(text);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

for (const [rows, iterations] of [
  [10_000, 20],
  [100_000, 5],
] as const) {
  const text = pokeText(rows);
  const json = msPerPoke(jsonParseOnly, text, iterations);
  const old = msPerPoke(decodeWithValibot, text, iterations);
  const fast = msPerPoke(decodeFast, text, iterations);
  console.log(
    `${rows.toLocaleString('en-US')} rows (${(text.length / 1e6).toFixed(1)} MB): ` +
      `valibot ${old.toFixed(1)} ms/poke, fast ${fast.toFixed(1)} ms/poke ` +
      `(${(old / fast).toFixed(1)}x; JSON.parse alone ${json.toFixed(1)} ms), median of ${iterations}`,
  );
}
