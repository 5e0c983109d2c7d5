// The floor under a cold Node client: a new process that loads only `ws`, opens the sync
// socket, sends the `connect` frame the real client would send (fresh client group, the
// same query) and waits for the poke that completes the query, doing nothing with the rows.
// No client can have its view complete earlier than this process sees that poke. Prints its phases (see
// timed-socket.ts) as one JSON line; `created` is `loaded` (there is no `Zero`), and
// `applied` and `complete` are the poke.
//
//   node floor-client.mjs <socket url> <rows> <desired queries JSON>
import {randomUUID} from 'node:crypto';
import {WebSocket} from 'ws';
import {cpuFigures} from './node-cpu.ts';
import type {Phases} from './timed-socket.ts';
import {timedSockets} from './timed-socket.ts';

const loaded = performance.now();
const phases: Partial<Phases> = {loaded, created: loaded};
const [url, , desired] = process.argv.slice(2);
const id = () => randomUUID().replaceAll('-', '').slice(0, 18);
const socket = timedSockets(u => new WebSocket(u) as never, phases)(url!);
socket.onopen = () => {
  const body = {
    protocolVersion: 4,
    clientID: id(),
    clientGroupID: id(),
    userID: `floor-${process.pid}-${Date.now()}`,
    baseVersion: null,
    lastMutationID: 0,
    desiredQueries: JSON.parse(desired!) as unknown,
  };
  socket.send(JSON.stringify(['connect', body]));
};
const hashes = (JSON.parse(desired!) as {hash: string}[]).map(q => q.hash);
socket.onmessage = ev => {
  const data = ev.data as string;
  // Only the poke frame (a few hundred bytes) is parsed.
  if (phases.poke === undefined || !data.startsWith('["poke",')) return;
  const got = (JSON.parse(data) as [string, {gotQueries: {hash: string}[]}])[1].gotQueries;
  if (!hashes.every(h => got.some(g => g.hash === h))) return;
  phases.applied = phases.complete = phases.poke;
  const out = {...phases, ...cpuFigures()};
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
};
setTimeout(() => {
  console.error(`no poke after 60 s: ${JSON.stringify(phases)}`);
  process.exit(1);
}, 60_000).unref();
