// A process of benchmark clients for the multi-process benchmarks (workers, scale-out): real
// `Zero` clients (in-memory stores, each its own client group) connected to one server (a
// zero-cache or HAProxy in front of several), each with a small query of its own and the one
// `hot` row that every client shows. Driven over IPC through remote-clients.ts, so that the
// clients' CPU is not the benchmark process's.
import {benchSchema, complete, newClient, when, type Client, type View} from '../e2e/clients.ts';

export type ToClients =
  /** `tag` starts every client's userID (one client group each). */
  | {type: 'open'; server: string; count: number; tag: string}
  | {type: 'watch'; v: number}
  | {type: 'close'};
export type FromClients =
  /** Each client's clientGroupID, in order. */
  | {type: 'opened'; groups: string[]}
  | {type: 'watching'}
  /** Epoch ms at which each client showed the value, in order; the connection states the
   *  slowest client went through meanwhile (ms after the watch began, state, reason). */
  | {type: 'seen'; at: number[]; slowest: string[]}
  | {type: 'closed'};

type Traced = {
  connection: {state: {subscribe(fn: (s: {name: string; reason?: string}) => void): () => void}};
};

const schema = benchSchema([]);
let clients: Client[] = [];
let hot: View[] = [];
const send = (m: FromClients) => process.send!(m);

process.on('message', (m: ToClients) => {
  void (async () => {
    if (m.type === 'open') {
      clients = Array.from({length: m.count}, () => newClient(m.server, schema, m.tag));
      const small = clients.map((z, i) =>
        z.query['fan']!.where('owner', i % 50)
          .limit(5)
          .materialize(),
      );
      hot = clients.map(z => z.query['hot']!.where('id', 1).materialize());
      await Promise.all([...small, ...hot].map(complete));
      const groups = await Promise.all(
        clients.map(c => (c as unknown as {clientGroupID: Promise<string>}).clientGroupID),
      );
      send({type: 'opened', groups});
    } else if (m.type === 'watch') {
      const seen = hot.map(view => when(view, d => d[0]?.['v'] === m.v));
      const t0 = performance.now();
      const traces = clients.map(c => {
        const trace: string[] = [];
        const off = (c as unknown as Traced).connection.state.subscribe(s =>
          trace.push(`${Math.round(performance.now() - t0)} ${s.name} ${s.reason ?? ''}`),
        );
        return {trace, off};
      });
      send({type: 'watching'});
      const times = await Promise.all(seen);
      for (const t of traces) t.off();
      const last = times.indexOf(Math.max(...times));
      send({
        type: 'seen',
        at: times.map(t => performance.timeOrigin + t),
        slowest: traces[last]?.trace ?? [],
      });
    } else {
      await Promise.all(clients.map(c => c.close()));
      clients = [];
      hot = [];
      send({type: 'closed'});
    }
  })();
});
process.once('disconnect', () => process.exit(0));
