// A real API server on 127.0.0.1 answering get-queries with zync/server's
// handleGetQueriesRequest, for the synced-query end-to-end tests. Users come from an opaque
// bearer token or a `session` cookie (mapped by the test); `failures` makes the next calls
// answer with a status code; `hidden` ids are no longer granted to anyone.
import {createServer} from 'node:http';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {handleGetQueriesRequest} from '@zync/server';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Schema} from '@zync/zql';
import {createBuilder} from '@zync/zql';

export type QueriesApi = Awaited<ReturnType<typeof startQueriesApi>>;

type IssueQuery = {
  where(c: string, op: string, v: unknown): IssueQuery;
  orderBy(c: string, d: 'asc' | 'desc'): IssueQuery;
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

export async function startQueriesApi(schema: Schema) {
  const builder = createBuilder(schema) as unknown as {issue: IssueQuery};
  const requests: {headers: IncomingMessage['headers']; url: string; body: unknown}[] = [];
  const state = {
    failures: [] as number[],
    tokens: new Map<string, string>(),
    sessions: new Map<string, string>(),
    hidden: new Set<string>(),
    /** Added to each answer, to measure zero-cache's own share. */
    delayMs: 0,
    /** Time spent inside handleGetQueriesRequest, per request (ms). */
    handlerMs: [] as number[],
  };

  function userOf(req: IncomingMessage): string | undefined | null {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const token = /^Bearer (.+)$/.exec(auth)?.[1];
      return (token && state.tokens.get(token)) ?? null; // null: refuse
    }
    const session = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    return session ? state.sessions.get(session) : undefined;
  }

  function resolve(user: string | undefined, name: string, args: readonly ReadonlyJSONValue[]) {
    if (name !== 'issues' && name !== 'issuesAdHocTwin') return undefined;
    const [search] = args;
    if (typeof search !== 'string') throw new Error('bad args: search must be a string');
    if (user === undefined) throw new Error('not logged in');
    let q = builder.issue.where('title', 'LIKE', `%${search}%`);
    if (user !== 'admin') q = q.where('owner', '=', user);
    if (state.hidden.size > 0) q = q.where('id', 'NOT IN', [...state.hidden]);
    return {query: q.orderBy('id', 'asc')};
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const text = await readBody(req);
      requests.push({headers: req.headers, url: req.url ?? '', body: JSON.parse(text) as unknown});
      const fail = state.failures.shift();
      if (fail !== undefined) {
        res.writeHead(fail).end('failure');
        return;
      }
      const user = userOf(req);
      if (user === null) {
        res.writeHead(401).end('unknown token');
        return;
      }
      const started = performance.now();
      const result = await handleGetQueriesRequest(
        (name, args) => resolve(user, name, args),
        schema,
        JSON.parse(text) as ReadonlyJSONValue,
      );
      state.handlerMs.push(performance.now() - started);
      if (state.delayMs > 0) await new Promise(r => setTimeout(r, state.delayMs));
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(result));
    })();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as {port: number}).port;
  return {
    url: `http://127.0.0.1:${port}/get-queries`,
    requests,
    state,
    async close() {
      server.closeAllConnections();
      await new Promise<void>(r => server.close(() => r()));
    },
  };
}
