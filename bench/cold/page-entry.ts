// The cold browser page: bundled (esbuild) and loaded in a new Chromium; opens one query
// over `rows_<n>` with IndexedDB as the store and resolves `window.cold` with its phases
// (ms from navigation start, see timed-socket.ts) once the view is complete.
// URL: /?server=<zero-cache url>&rows=<n>
import {createSchema, number, string, table, Zero} from 'zync';
import type {Phases} from './timed-socket.ts';
import {timedSockets} from './timed-socket.ts';

declare global {
  interface Window {
    cold: Promise<Partial<Phases>>;
  }
}

const phases: Partial<Phases> = {loaded: performance.now()};
const params = new URLSearchParams(location.search);
const rows = Number(params.get('rows'));
const name = `rows_${rows}`;
const schema = createSchema({
  tables: [
    table(name)
      .columns({id: number(), owner: number(), title: string(), score: number()})
      .primaryKey('id'),
  ],
});

window.cold = new Promise(resolve => {
  const z = new Zero({
    server: params.get('server')!,
    userID: `cold-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    schema,
    kvStore: 'idb',
    createSocket: timedSockets(url => new WebSocket(url) as never, phases),
  });
  phases.created = performance.now();
  type View = {
    addListener(fn: (data: readonly unknown[], resultType: string) => void): () => void;
  };
  const view = (z.query as unknown as Record<string, {materialize(): View}>)[name]!.materialize();
  view.addListener((data, resultType) => {
    if (phases.complete !== undefined || data.length !== rows) return;
    phases.applied ??= performance.now();
    if (resultType !== 'complete') return;
    phases.complete = performance.now();
    resolve(phases);
  });
});
