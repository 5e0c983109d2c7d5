// A process of benchmark clients for the scale-out benchmark: real `Zero` clients (in-memory
// stores, each its own client group) connected through HAProxy or to one node, each with a
// small query of its own and the one `hot` row that every client shows. Driven over IPC by
// scale-out.bench.ts, so that the clients' CPU is not the benchmark process's.
import {benchSchema, complete, newClient, when, type Client, type View} from '../e2e/clients.ts';

export type ToClients =
  | {type: 'open'; server: string; count: number}
  | {type: 'watch'; v: number}
  | {type: 'close'};
export type FromClients =
  /** Each client's clientGroupID, in order. */
  | {type: 'opened'; groups: string[]}
  | {type: 'watching'}
  /** Epoch ms at which each client showed the value, in order. */
  | {type: 'seen'; at: number[]}
  | {type: 'closed'};

const schema = benchSchema([]);
let clients: Client[] = [];
let hot: View[] = [];
const send = (m: FromClients) => process.send!(m);

process.on('message', (m: ToClients) => {
  void (async () => {
    if (m.type === 'open') {
      clients = Array.from({length: m.count}, () => newClient(m.server, schema, 's'));
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
      send({type: 'watching'});
      const times = await Promise.all(seen);
      send({type: 'seen', at: times.map(t => performance.timeOrigin + t)});
    } else {
      await Promise.all(clients.map(c => c.close()));
      clients = [];
      hot = [];
      send({type: 'closed'});
    }
  })();
});
process.once('disconnect', () => process.exit(0));
