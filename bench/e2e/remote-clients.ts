// The benchmark's side of client-proc.ts: benchmark clients spread over processes of their
// own, opened on one server, and a write of the `hot` row timed until every client shows it.
import {fork, type ChildProcess} from 'node:child_process';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import type pg from 'pg';
import type {FromClients, ToClients} from './client-proc.ts';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

class ClientProc {
  readonly child: ChildProcess;
  #waiting: ((m: FromClients) => void)[] = [];
  constructor() {
    this.child = fork(join(import.meta.dirname, 'client-proc.ts'), [], {
      execArgv: ['--conditions=zync-source', '--import', tsx],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: FromClients) => this.#waiting.shift()?.(m));
  }
  ask(m: ToClients): Promise<FromClients> {
    const p = new Promise<FromClients>(r => this.#waiting.push(r));
    this.child.send(m);
    return p;
  }
  next(): Promise<FromClients> {
    return new Promise<FromClients>(r => this.#waiting.push(r));
  }
}

/** Clients spread over `procs` processes, all connected to `server` and complete. */
export type Clients = {
  readonly procs: readonly ClientProc[];
  /** Each client's group, in process order then client order (the order of `seen`). */
  readonly groups: readonly string[];
  readonly connectMs: number;
  close(): Promise<void>;
};

/** `count` clients over `procs` processes; `tag` starts their userIDs. */
export async function openClients(
  server: string,
  count: number,
  procs: number,
  tag: string,
): Promise<Clients> {
  const ps = Array.from({length: procs}, () => new ClientProc());
  const t0 = performance.now();
  const opened = await Promise.all(
    ps.map((p, i) =>
      p.ask({
        type: 'open',
        server,
        count: Math.floor(count / procs) + (i < count % procs ? 1 : 0),
        tag,
      }),
    ),
  );
  const connectMs = performance.now() - t0;
  const groups = opened.flatMap(m => (m.type === 'opened' ? m.groups : []));
  return {
    procs: ps,
    groups,
    connectMs,
    async close() {
      await Promise.all(ps.map(p => p.ask({type: 'close'})));
      for (const p of ps) p.child.kill();
    },
  };
}

/** The value each write sets; a new one for every write of the process. */
let v = 0;

/** Sets `hot.v` upstream once every process watches for it; epoch ms of the commit and the
 *  epoch ms at which each client showed it (`Clients.groups` order). `before` runs between
 *  the watch and the write. */
export async function writeAndWatch(
  db: pg.Client,
  cs: Clients,
  before?: () => Promise<void>,
): Promise<{committed: number; at: number[]; slowest: string[]}> {
  v++;
  await Promise.all(cs.procs.map(p => p.ask({type: 'watch', v})));
  const seen = cs.procs.map(p => p.next());
  await before?.();
  await db.query('UPDATE hot SET v = $1 WHERE id = 1', [v]);
  const committed = performance.timeOrigin + performance.now();
  const got = (await Promise.all(seen)).flatMap(m => (m.type === 'seen' ? [m] : []));
  const at = got.flatMap(m => m.at);
  // The slowest client's connection states, from the process whose last client came last.
  const last = got.reduce((a, b) => (Math.max(...b.at) > Math.max(...a.at) ? b : a));
  return {committed, at, slowest: last.slowest};
}
