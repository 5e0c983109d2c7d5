// Test helper: an HTTP server on 127.0.0.1 that misbehaves on demand, for the deadline
// tests of zero-cache's outbound calls. The behaviour can change between requests, so a
// test can break the server and then let it recover.
import http from 'node:http';
import type {AddressInfo} from 'node:net';

export type Misbehaviour =
  /** Reads the request and never answers. */
  | 'stall'
  /** Sends 200 headers, then nothing. */
  | 'headers-then-stall'
  /** Sends 200 headers, then one byte of a never-ending body every `dripMs`. */
  | 'drip'
  /** Destroys the connection as soon as the request arrives. */
  | 'reset'
  /** Answers 200 with a body that is not JSON. */
  | 'garbage'
  /** Answers 200 with `bigBytes` of JSON-looking text. */
  | 'big'
  /** Sends 200 headers, then a never-ending body as fast as the socket takes it. */
  | 'flood'
  /** Answers with `handler`. */
  | 'ok';

export type MisbehavingServer = {
  readonly url: string;
  mode: Misbehaviour;
  dripMs: number;
  bigBytes: number;
  /** Requests received so far. */
  hits: number;
  /** Answers requests in mode 'ok'. */
  handler: (body: string) => {status: number; body: string; headers?: Record<string, string>};
  /** The headers of each request received, in order. */
  requests: http.IncomingHttpHeaders[];
  close(): Promise<void>;
};

export async function misbehavingServer(path = '/'): Promise<MisbehavingServer> {
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = http.createServer((req, res) => {
    s.hits++;
    s.requests.push(req.headers);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      switch (s.mode) {
        case 'stall':
          return;
        case 'headers-then-stall':
          res.writeHead(200, {'content-type': 'application/json'});
          res.flushHeaders();
          return;
        case 'drip': {
          res.writeHead(200, {'content-type': 'application/json'});
          res.write('[');
          const timer = setInterval(() => res.write(' '), s.dripMs);
          timers.add(timer);
          res.on('close', () => {
            clearInterval(timer);
            timers.delete(timer);
          });
          return;
        }
        case 'reset':
          req.socket.destroy();
          return;
        case 'garbage':
          res.writeHead(200, {'content-type': 'application/json'}).end('<html>not json</html>');
          return;
        case 'big':
          res.writeHead(200, {'content-type': 'application/json'});
          res.end(`{"keys":[],"pad":"${'x'.repeat(s.bigBytes)}"}`);
          return;
        case 'flood': {
          res.writeHead(200, {'content-type': 'application/json'});
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          const pump = () => {
            while (!res.destroyed && res.write(chunk));
          };
          res.on('drain', pump);
          pump();
          return;
        }
        case 'ok': {
          const out = s.handler(body);
          res
            .writeHead(out.status, {'content-type': 'application/json', ...out.headers})
            .end(out.body);
          return;
        }
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const s: MisbehavingServer = {
    url: `http://127.0.0.1:${port}${path}`,
    mode: 'ok',
    dripMs: 50,
    bigBytes: 1024,
    hits: 0,
    requests: [],
    handler: () => ({status: 200, body: '{}'}),
    close: () =>
      new Promise<void>(resolve => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return s;
}
