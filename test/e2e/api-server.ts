// A small real API server on 127.0.0.1 using zync/server's PushProcessor, for end-to-end
// tests. `failures` lets a test make the next N pushes answer with a status code;
// `failuresAfterProcessing` does the same after the push was processed (and committed).
import {createServer} from 'node:http';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {PushProcessor, zeroNodePg} from '@zync/server';
import type {Schema} from '@zync/zql';
import pg from 'pg';

export type ApiServer = Awaited<ReturnType<typeof startApiServer>>;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

export async function startApiServer(upstreamUrl: string, schema: Schema, mutators: object) {
  const pool = new pg.Pool({connectionString: upstreamUrl, max: 4});
  const processor = new PushProcessor(zeroNodePg(schema, pool));
  const requests: {headers: IncomingMessage['headers']; url: string; body: unknown}[] = [];
  const state = {failures: [] as number[], failuresAfterProcessing: [] as number[], down: false};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const text = await body(req);
      requests.push({headers: req.headers, url: req.url ?? '', body: JSON.parse(text) as unknown});
      const fail = state.failures.shift();
      if (fail !== undefined) {
        res.writeHead(fail).end('failure');
        return;
      }
      const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: text,
      });
      const result = await processor.process(mutators as never, request);
      const lost = state.failuresAfterProcessing.shift();
      if (lost !== undefined) {
        res.writeHead(lost).end('failure');
        return;
      }
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(result));
    })();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as {port: number}).port;
  return {
    url: `http://127.0.0.1:${port}/push`,
    port,
    requests,
    state,
    async close() {
      server.closeAllConnections();
      await new Promise<void>(r => server.close(() => r()));
      await pool.end();
    },
  };
}
