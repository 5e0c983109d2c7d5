// A process of connecting clients for the connect-throughput scenario: plain `ws` sockets that
// send one connect frame (an ES256 token and a small query) and close at the first poke. Run
// apart from the benchmark's own process so that the clients' CPU is measured on its own and
// the runner does not compete with zero-cache on the same thread.
import {encodeFrame, PROTOCOL_VERSION} from '@zync/protocol';
import {WebSocket} from 'ws';

export type ToConnectProc =
  | {type: 'ping'}
  | {
      type: 'wave';
      url: string;
      items: readonly {readonly i: number; readonly token: string}[];
    };
export type FromConnectProc = {
  type: 'done';
  /** ms from dialling to the 101 answer, and to the first poke, per connect. */
  open: number[];
  poke: number[];
  errors: string[];
};

function connectOnce(url: string, token: string, i: number, out: FromConnectProc): Promise<void> {
  const group = `g${i}`;
  const t0 = performance.now();
  return new Promise(resolve => {
    const ws = new WebSocket(`${url}?clientGroupID=${group}`, {perMessageDeflate: false});
    const fail = (why: string) => {
      out.errors.push(why.slice(0, 200));
      ws.terminate();
      resolve();
    };
    ws.on('open', () => {
      out.open.push(performance.now() - t0);
      ws.send(
        encodeFrame([
          'connect',
          {
            protocolVersion: PROTOCOL_VERSION,
            clientID: `c${i}`,
            clientGroupID: group,
            userID: 'bench',
            baseVersion: null,
            lastMutationID: 0,
            auth: token,
            desiredQueries: [
              {
                op: 'put',
                hash: 'small',
                ast: {
                  kind: 'query',
                  table: 'fan',
                  where: {
                    kind: 'simple',
                    op: '=',
                    left: {kind: 'column', name: 'owner'},
                    right: {kind: 'literal', value: i % 50},
                  },
                  limit: 5,
                },
              },
            ],
          },
        ]),
      );
    });
    ws.on('message', (d: Buffer) => {
      // Only the frame type is read: the first poke carries the hydrated rows.
      const head = d.subarray(0, 16).toString();
      if (head.startsWith('["poke"')) {
        out.poke.push(performance.now() - t0);
        ws.close();
        resolve();
      } else if (head.startsWith('["error"')) {
        fail(d.toString());
      }
    });
    ws.on('error', e => fail(e.message));
  });
}

process.on('message', (m: ToConnectProc) => {
  if (m.type === 'ping') {
    process.send!({type: 'done', open: [], poke: [], errors: []} satisfies FromConnectProc);
    return;
  }
  void (async () => {
    const out: FromConnectProc = {type: 'done', open: [], poke: [], errors: []};
    await Promise.all(m.items.map(x => connectOnce(m.url, x.token, x.i, out)));
    process.send!(out);
  })();
});
process.once('disconnect', () => process.exit(0));
