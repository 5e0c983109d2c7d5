// What a synced query adds before its first complete result, compared with the same query
// sent as an AST: the get-queries round trip through SyncedQueryPreparer to a local HTTP
// API server (validation, batching, caching included). Hydration and the poke are the same
// for both once the AST is known, so the difference of the two preparers is the added
// latency. The API server's own time (from request received to response written) is
// measured separately and subtracted. Usage: npm run bench -- synced
import {createServer, type IncomingMessage} from 'node:http';
import type {AST} from '@zync/protocol';
import {createLogger} from '@zync/shared';
import {passThroughQueryPreparer, type QueryContext} from '../view-syncer/group-client.ts';
import {SyncedQueryPreparer} from './synced-query-preparer.ts';

const QUERIES = 100;
const ast = (owner: string): AST => ({
  kind: 'query',
  table: 'issue',
  where: {
    kind: 'simple',
    op: '=',
    left: {kind: 'column', name: 'owner'},
    right: {kind: 'literal', value: owner},
  },
  orderBy: [['id', 'asc']],
});

const serverMs: number[] = [];
const server = createServer((req: IncomingMessage, res) => {
  const started = performance.now();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const [, items] = JSON.parse(Buffer.concat(chunks).toString()) as [
      string,
      {id: string; name: string; args: string[]}[],
    ];
    const out = items.map(i => ({id: i.id, name: i.name, ast: ast(i.args[0] ?? '')}));
    res
      .writeHead(200, {'content-type': 'application/json'})
      .end(JSON.stringify(['transformed', out]));
    serverMs.push(performance.now() - started);
  });
});
await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
const port = (server.address() as {port: number}).port;

const preparer = new SyncedQueryPreparer({
  url: `http://127.0.0.1:${port}/get-queries`,
  apiKey: undefined,
  forwardCookies: false,
  appID: 'bench',
  revalidateMs: 300_000,
  logger: createLogger('error', () => {}),
});
const ctx: QueryContext = {
  clientID: 'c',
  clientGroupID: 'g',
  userID: 'u',
  authData: {},
  token: 'opaque',
};

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? NaN;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

// Warm up sockets and JIT.
for (let i = 0; i < 20; i++) {
  await preparer.prepare({hash: `w${i}`, name: 'issues', args: [`w${i}`]}, ctx);
}
serverMs.length = 0;

const adHoc: number[] = [];
const synced: number[] = [];
const cached: number[] = [];
for (let i = 0; i < QUERIES; i++) {
  adHoc.push(await time(() => passThroughQueryPreparer({hash: `a${i}`, ast: ast(`u${i}`)}, ctx)));
  synced.push(
    await time(() => preparer.prepare({hash: `s${i}`, name: 'issues', args: [`u${i}`]}, ctx)),
  );
  cached.push(
    await time(() => preparer.prepare({hash: `s${i}`, name: 'issues', args: [`u${i}`]}, ctx)),
  );
}
// A connect with 20 synced queries: one batched request.
const check = await preparer.prepare({hash: 'chk', name: 'issues', args: ['x']}, ctx);
if (!check.ok) throw new Error('the bench API server answered an invalid AST');
const before = preparer.requests;
const batch = await time(() =>
  Promise.all(
    Array.from({length: 20}, (_, i) =>
      preparer.prepare({hash: `b${i}`, name: 'issues', args: [`b${i}`]}, ctx),
    ),
  ),
);

const added = p50(synced) - p50(adHoc);
const api = p50(serverMs);
const fmt = (n: number) => n.toFixed(3);
process.stdout.write(
  [
    `synced query first prepare, p50 over ${QUERIES}: ${fmt(p50(synced))} ms (p95 ${fmt(p95(synced))})`,
    `ad-hoc query prepare, p50: ${fmt(p50(adHoc))} ms`,
    `API server's own time, p50: ${fmt(api)} ms`,
    `added by zero-cache (synced - ad-hoc - API server): ${fmt(added - api)} ms (target <= 3 ms)`,
    `cached synced prepare, p50: ${fmt(p50(cached))} ms`,
    `20 queries prepared together: ${fmt(batch)} ms in ${preparer.requests - before} request(s)`,
    '',
  ].join('\n'),
);
server.closeAllConnections();
server.close();
