// Client side of an initial sync: a `Zero` (memory store) receives one poke of N rows as
// frame text over an in-process socket, decodes it, applies it to a live all-rows view and
// commits it to the store. Also times decode and LocalState.applyPoke (with and without a
// view) alone. Server work is not included.
//
//   npm run bench -- apply-poke
//   BENCH_ROWS=10000,100000 BENCH_RUNS=5 npm run bench -- apply-poke
import {decodeDownstream, encodeFrame, type PokeBody} from '@zync/protocol';
import {createBuilder, createSchema, number, string, table} from '@zync/zql';
import {materialize} from '@zync/zql/ivm';
import type {SocketLike} from '../connection/connection.ts';
import {MemDatabases, memStoreProvider} from '../kv/mem-store.ts';
import {LocalState} from './local-state.ts';
import {Zero} from './zero.ts';

const env = process.env;
const sizes = (env['BENCH_ROWS'] ?? '10000,100000').split(',').map(Number);
const runs = Number(env['BENCH_RUNS'] ?? '5');

const schema = createSchema({
  tables: [
    table('item')
      .columns({id: number(), owner: number(), title: string(), score: number()})
      .primaryKey('id'),
  ],
});

function pokeBody(rows: number, gotHash: string | undefined): PokeBody {
  // As zero-cache sends a hydration: one `puts` op, a value array per row.
  const values: [number, number, string, number][] = [];
  for (let i = 1; i <= rows; i++) values.push([i, i % 100, `row title ${i}`, i * 0.5]);
  const ops: PokeBody['rows'] = [
    {op: 'puts', table: 'item', columns: ['id', 'owner', 'title', 'score'], values},
  ];
  return {
    pokeID: '1',
    baseVersion: null,
    version: '01',
    rows: ops,
    gotQueries: gotHash === undefined ? [] : [{op: 'put', hash: gotHash}],
    lastMutationIDChanges: {},
  };
}

const HASH = '\u0000hash\u0000';

/**
 * A socket that plays a server answering the first query with one big poke. The frame text
 * is made before the clock starts (only the query hash is filled in), so that what is timed
 * is the client's work.
 */
function fakeSocket(pokeText: readonly [string, string]): SocketLike {
  const s: SocketLike = {
    readyState: 1,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send(data: string) {
      const frame = JSON.parse(data) as [string, Record<string, unknown>];
      const deliver = (text: string) => setTimeout(() => s.onmessage?.({data: text}), 0);
      let hash: string | undefined;
      if (frame[0] === 'connect') {
        deliver(encodeFrame(['connected', {wsid: 'w', tokenExpiresAt: null}]));
        hash = (frame[1]['desiredQueries'] as {hash: string}[])[0]?.hash;
      } else if (frame[0] === 'changeDesiredQueries') {
        const patch = frame[1]['patch'] as {op: string; hash: string}[];
        hash = patch.find(p => p.op === 'put')?.hash;
      }
      if (hash !== undefined)
        deliver(pokeText[0] + JSON.stringify(hash).slice(1, -1) + pokeText[1]);
    },
    close() {},
  };
  setTimeout(() => s.onopen?.({}), 0);
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
}

function report(label: string, ms: number[], rows: number): void {
  const m = median(ms);
  console.log(
    `${label.padEnd(52)} ${m.toFixed(1).padStart(8)} ms  (${((m * 1000) / rows).toFixed(2)} µs/row; min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)})`,
  );
}

function gc(): void {
  (globalThis as {gc?: () => void}).gc?.();
}

async function endToEnd(rows: number, print = true): Promise<void> {
  const [before, after] = encodeFrame(['poke', pokeBody(rows, HASH)]).split(
    JSON.stringify(HASH).slice(1, -1),
  );
  const pokeText = [before!, after!] as const;
  const toData: number[] = [];
  const toClosed: number[] = [];
  for (let r = 0; r < runs; r++) {
    gc();
    const dbs = new MemDatabases();
    const t0 = performance.now();
    const z = new Zero({
      server: 'http://127.0.0.1:1',
      userID: 'bench',
      schema,
      kvStore: memStoreProvider({databases: dbs}),
      createSocket: () => fakeSocket(pokeText),
    });
    const data = await z.run(z.query.item, {type: 'complete'});
    toData.push(performance.now() - t0);
    if (data.length !== rows) throw new Error(`got ${data.length} rows, want ${rows}`);
    await z.close();
    toClosed.push(performance.now() - t0);
  }
  if (!print) return;
  report(`Zero: run(complete), ${rows} rows`, toData, rows);
  report(`Zero: run(complete) + close (store commit), ${rows} rows`, toClosed, rows);
}

function parts(rows: number, print = true): void {
  const text = encodeFrame(['poke', pokeBody(rows, 'h')]);
  const decode: number[] = [];
  const bare: number[] = [];
  const viewed: number[] = [];
  for (let r = 0; r < runs; r++) {
    gc();
    let t0 = performance.now();
    const frame = decodeDownstream(text);
    decode.push(performance.now() - t0);
    if (frame[0] !== 'poke') throw new Error('not a poke');

    gc();
    const plain = new LocalState(schema);
    t0 = performance.now();
    plain.applyPoke(decodeDownstream(text)[1] as PokeBody);
    bare.push(performance.now() - t0 - decode[decode.length - 1]!);

    gc();
    const local = new LocalState(schema);
    const view = materialize(
      createBuilder(schema).item.ast,
      {getSource: t => local.sources.get(t)},
      {batcher: local.batcher},
    );
    const body = decodeDownstream(text)[1] as PokeBody;
    t0 = performance.now();
    local.applyPoke(body);
    viewed.push(performance.now() - t0);
    if ((view.data as unknown[]).length !== rows) throw new Error('view is short');
    view.destroy();
  }
  if (!print) return;
  report(`decodeDownstream, ${rows} rows`, decode, rows);
  report(`LocalState.applyPoke, no view, ${rows} rows (approx.)`, bare, rows);
  report(`LocalState.applyPoke, all-rows view, ${rows} rows`, viewed, rows);
}

// Untimed: lets the JIT see every path once, as a long-running app would have.
parts(2000, false);
await endToEnd(2000, false);

for (const rows of sizes) {
  parts(rows);
  await endToEnd(rows);
}
