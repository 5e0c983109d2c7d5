// A scripted stand-in for zero-cache's WebSocket, for client and React unit tests that
// need to control exactly which frames arrive. End-to-end tests use the real zero-cache.
import type {DownstreamFrame, PokeBody, UpstreamFrame} from '@zync/protocol';
import {decodeUpstream, encodeFrame, SYNC_PATH} from '@zync/protocol';
import type {WebSocket} from 'ws';
import {WebSocketServer} from 'ws';

export type FakeZeroCache = Awaited<ReturnType<typeof startFakeZeroCache>>;

export async function startFakeZeroCache(port = 0) {
  const wss = new WebSocketServer({host: '127.0.0.1', port, path: SYNC_PATH});
  await new Promise<void>(r => wss.once('listening', r));
  const received: UpstreamFrame[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', ws => {
    sockets.push(ws);
    ws.on('message', data => {
      const f = decodeUpstream((data as Buffer).toString());
      received.push(f);
      if (f[0] === 'connect')
        ws.send(encodeFrame(['connected', {wsid: 'w', tokenExpiresAt: null}]));
      if (f[0] === 'ping') ws.send(encodeFrame(['pong', {}]));
    });
  });
  return {
    server: `http://127.0.0.1:${(wss.address() as {port: number}).port}`,
    received,
    /** Hashes of the queries the clients asked for, in order. */
    queryHashes(): string[] {
      const out: string[] = [];
      for (const f of received) {
        const patch =
          f[0] === 'connect'
            ? f[1].desiredQueries
            : f[0] === 'changeDesiredQueries'
              ? f[1].patch
              : [];
        for (const op of patch) if (op.op === 'put') out.push(op.hash);
      }
      return out;
    },
    send(f: DownstreamFrame): void {
      sockets.at(-1)?.send(encodeFrame(f));
    },
    /** Closes every client's socket (the server stays up; clients reconnect). */
    dropConnections(): void {
      for (const s of sockets.splice(0)) s.terminate();
    },
    close(): Promise<void> {
      for (const s of sockets) s.terminate();
      return new Promise<void>(r => wss.close(() => r()));
    },
  };
}

export function pokeFrame(body: Partial<PokeBody>): DownstreamFrame {
  return [
    'poke',
    {
      pokeID: 'p',
      baseVersion: null,
      version: '01',
      rows: [],
      gotQueries: [],
      lastMutationIDChanges: {},
      ...body,
    },
  ];
}
