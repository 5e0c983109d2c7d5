// One cold client as an app runs it: a new Node process that imports `zync`, opens one query
// over `rows_<n>` with an in-memory store, and prints its phases (ms from process start,
// see timed-socket.ts) as one JSON line once the view is complete. Run bundled (esbuild,
// one .mjs) or from the sources with tsx; see cold.bench.ts.
//
//   node client.mjs <server url> <rows>
import {createSchema, number, string, table, Zero} from 'zync';
import {WebSocket} from 'ws';
import {cpuFigures} from './node-cpu.ts';
import type {Phases} from './timed-socket.ts';
import {timedSockets} from './timed-socket.ts';

const phases: Partial<Phases> = {loaded: performance.now()};
const [server, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg);
const name = `rows_${rows}`;
const schema = createSchema({
  tables: [
    table(name)
      .columns({id: number(), owner: number(), title: string(), score: number()})
      .primaryKey('id'),
  ],
});

const z = new Zero({
  server: server!,
  userID: `cold-${process.pid}-${Date.now()}`,
  schema,
  kvStore: 'mem',
  createSocket: timedSockets(url => new WebSocket(url) as never, phases),
});
phases.created = performance.now();
const view = (z.query as unknown as Record<string, {materialize(): View}>)[name]!.materialize();
type View = {
  addListener(fn: (data: readonly unknown[], resultType: string) => void): () => void;
};
view.addListener((data, resultType) => {
  if (phases.complete !== undefined || data.length !== rows) return;
  phases.applied ??= performance.now();
  if (resultType !== 'complete') return;
  phases.complete = performance.now();
  const out = {...phases, ...cpuFigures()};
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
});
setTimeout(() => {
  console.error(`not complete after 60 s: ${JSON.stringify(phases)}`);
  process.exit(1);
}, 60_000).unref();
