// What a Zero 1.x defined query (one args value, a Standard Schema validator) costs per
// query next to a 0.24 synced query, on the hello app's own issue query:
//   client: the request bound to its context (validation included), the query's hash and
//           the `put` the client sends zero-cache; 0.24: calling the synced query, same rest;
//   server: the transform request through handleQueryRequest (mustGetQuery(...).fn, which
//           validates) vs handleGetQueriesRequest (withValidation), per query of a batch.
// Rounds alternate the two paths; each prints the median per-query time and min–max over
// rounds. Usage: npm run bench -- synced
import {customQueryHash, toQuery} from '@zync/zql';
import {mustGetQuery, withValidation} from 'zync';
import {handleGetQueriesRequest, handleQueryRequest} from 'zync/server';
import {issueFilter, queries} from '../examples/hello/shared-1x/queries.ts';
import {schema as schema1x} from '../examples/hello/shared-1x/schema.ts';
import {issues} from '../examples/hello/shared/queries.ts';
import {schema as schema024} from '../examples/hello/shared/schema.ts';

const ROUNDS = 25;
const CLIENT_OPS = 2_000;
const SERVER_REQUESTS = 100;
const BATCH = 20;

const ctx = {userID: 'alice', role: 'member' as const};
const auth = {sub: 'alice', role: 'member' as const};
const filters = Array.from({length: 64}, (_, i) => ({
  open: i % 3 === 0 ? null : i % 2 === 0,
  ownerID: i % 4 === 0 ? null : `user${i % 7}`,
  text: i % 5 === 0 ? '' : `term ${i}`,
}));

type WithID = {customQueryID?: {name: string; args: readonly unknown[]} | undefined};

/** What the client sends for a named query: the hash and the `put` op, serialized. */
function send(q: WithID): number {
  const id = q.customQueryID!;
  const hash = customQueryHash(id as never);
  return JSON.stringify({op: 'put', hash, name: id.name, args: [...id.args], ttlMs: 300_000})
    .length;
}

function client1x(i: number): number {
  return send(toQuery(queries.issues(filters[i % filters.length]!), ctx) as WithID);
}

function client024(i: number): number {
  return send(issues(filters[i % filters.length]!));
}

const validated = withValidation(issues);

function body(i: number): string {
  const items = Array.from({length: BATCH}, (_, k) => ({
    id: `q${k}`,
    name: 'issues',
    args: [filters[(i + k) % filters.length]!],
  }));
  return JSON.stringify(['transform', items]);
}

const request = (i: number) =>
  new Request('http://api/query?schema=hello_0&appID=hello', {method: 'POST', body: body(i)});

async function server1x(i: number): Promise<void> {
  const res = await handleQueryRequest({
    handler: (name, args) => mustGetQuery(queries, name).fn({args, ctx}),
    schema: schema1x,
    request: request(i),
    userID: ctx.userID,
  });
  if (res.kind !== 'QueryResponse' || res.queries.some(q => 'error' in q)) {
    throw new Error('1.x transform failed');
  }
}

async function server024(i: number): Promise<void> {
  const res = await handleGetQueriesRequest(
    (name, args) => {
      if (name !== 'issues') throw new Error(`unknown query ${name}`);
      return {query: validated(auth, ...args)};
    },
    schema024,
    request(i),
  );
  if (!Array.isArray(res) || res[0] !== 'transformed') throw new Error('0.24 transform failed');
}

/** Microseconds per query for one round of `ops` calls. */
async function round(ops: number, perCall: number, fn: (i: number) => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / 1_000 / (ops * perCall);
}

async function compare(
  label: string,
  ops: number,
  perCall: number,
  a: (i: number) => unknown,
  b: (i: number) => unknown,
) {
  await round(ops, perCall, a); // warm up
  await round(ops, perCall, b);
  const ta: number[] = [];
  const tb: number[] = [];
  const added: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    const x = await round(ops, perCall, a);
    globalThis.gc?.();
    const y = await round(ops, perCall, b);
    ta.push(x);
    tb.push(y);
    added.push(x - y);
  }
  const fmt = (xs: number[]) => {
    const s = [...xs].sort((p, q) => p - q);
    const med = s[Math.floor(s.length / 2)]!;
    return `${med.toFixed(1)} µs (${s[0]!.toFixed(1)}–${s[s.length - 1]!.toFixed(1)})`;
  };
  console.log(`${label}`);
  console.log(`  1.x  defined query   ${fmt(ta)}`);
  console.log(`  0.24 synced query    ${fmt(tb)}`);
  console.log(`  added by 1.x         ${fmt(added)}`);
  return added;
}

// Both paths resolve to the same AST for the same filter.
{
  const a = toQuery(queries.issues(filters[1]!), ctx) as unknown as {ast: unknown};
  const b = validated(auth, filters[1]!) as unknown as {ast: unknown};
  if (JSON.stringify(a.ast) !== JSON.stringify(b.ast)) throw new Error('the two paths differ');
}

console.log(`per query, median (min–max) over ${ROUNDS} rounds`);
const c = await compare(
  `client: build + validate + hash + put (${CLIENT_OPS} per round)`,
  CLIENT_OPS,
  1,
  client1x,
  client024,
);
const s = await compare(
  `server: transform request of ${BATCH} queries (${SERVER_REQUESTS} requests per round)`,
  SERVER_REQUESTS,
  BATCH,
  server1x,
  server024,
);
// The validator alone, for scale: what `~standard.validate` costs per call.
const v: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  v.push(
    await round(CLIENT_OPS, 1, i => issueFilter['~standard'].validate(filters[i % filters.length])),
  );
}
v.sort((p, q) => p - q);
console.log(
  `valibot validation alone: ${v[Math.floor(v.length / 2)]!.toFixed(2)} µs (${v[0]!.toFixed(2)}–${v[v.length - 1]!.toFixed(2)})`,
);
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const total = median(c) + median(s);
console.log(`added per query, client + server: ${(total / 1000).toFixed(4)} ms (target ≤ 0.5 ms)`);
