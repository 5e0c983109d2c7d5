// Bundled into the benchmark page: `Zero` from the public `zync` entry with an in-page fake
// socket (no network), and the three measured operations on `window.zb`.
import type {ZeroOptions} from 'zync';
import {createSchema, dropAllDatabases, number, string, table, Zero} from 'zync';

const schema = createSchema({
  tables: [
    table('issue')
      .columns({id: string(), title: string(), rank: number(), owner: string(), body: string()})
      .primaryKey('id'),
  ],
});
type SocketLike = ReturnType<NonNullable<ZeroOptions<typeof schema>['createSocket']>>;
type Frame = [string, Record<string, unknown>];

const SERVER = 'http://127.0.0.1:9'; // never contacted: every socket is the fake below

/** A socket that answers `connect` with `connected`, then lets the page push frames. */
class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: {data: unknown}) => void) | null = null;
  onclose: ((ev: {code: number; reason: string}) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: Frame[] = [];
  #onConnect: (() => void) | undefined;
  readonly connected: Promise<void>;

  constructor(readonly live: boolean) {
    this.connected = new Promise(resolve => (this.#onConnect = resolve));
    if (live) {
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }
  }

  send(data: string): void {
    const f = JSON.parse(data) as Frame;
    this.sent.push(f);
    if (f[0] === 'connect') {
      this.deliver(['connected', {wsid: 'bench', tokenExpiresAt: null}]);
      this.#onConnect?.();
    }
  }

  deliver(frame: Frame | string): void {
    this.onmessage?.({data: typeof frame === 'string' ? frame : JSON.stringify(frame)});
  }

  close(): void {
    this.readyState = 3;
  }
}

function rows(n: number): Record<string, unknown>[] {
  return Array.from({length: n}, (_, i) => ({
    id: `i${String(i).padStart(6, '0')}`,
    title: `Issue number ${i}`,
    rank: i,
    owner: `u${i % 50}`,
    body: `Some text for issue ${i}, long enough to look like a short description.`,
  }));
}

function open(userID: string, live: boolean) {
  let socket: FakeSocket | undefined;
  const z = new Zero({
    schema,
    server: SERVER,
    userID,
    createSocket: () => (socket = new FakeSocket(live)),
  });
  return {z, socket: () => socket};
}

async function pokeRows(userID: string, n: number): Promise<number> {
  const {z, socket} = open(userID, true);
  const view = z.materialize(z.query.issue.orderBy('id', 'asc').limit(100)) as {destroy(): void};
  await z.clientGroupID;
  while (!socket()) await new Promise(r => setTimeout(r, 1));
  await socket()!.connected;
  const sent = socket()!.sent;
  const desired = sent.flatMap(f =>
    f[0] === 'connect'
      ? (f[1]['desiredQueries'] as {hash: string}[])
      : f[0] === 'changeDesiredQueries'
        ? (f[1]['patch'] as {hash: string}[])
        : [],
  );
  const poke: Frame = [
    'poke',
    {
      pokeID: 'p1',
      baseVersion: null,
      version: 'v1',
      // As zero-cache sends a hydration: one `puts` op, a value array per row.
      rows: [
        {op: 'clear'},
        {
          op: 'puts',
          table: 'issue',
          columns: ['id', 'title', 'rank', 'owner', 'body'],
          values: rows(n).map(r => Object.values(r)),
        },
      ],
      gotQueries: desired.map(d => ({op: 'put', hash: d.hash})),
      lastMutationIDChanges: {},
    },
  ];
  // The text is made first: a real socket hands the client a string.
  const text = JSON.stringify(poke);
  const t0 = performance.now();
  socket()!.deliver(text);
  // close() waits for the store writes: the poke is durable when it returns.
  view.destroy();
  await z.close();
  return performance.now() - t0;
}

const api = {
  /** Delivers an n-row poke (as text); ms from delivery until it is committed to IndexedDB. */
  pokeRows,
  /** A fresh instance with no network: ms until the first query is answered from disk. */
  async reopen(userID: string): Promise<{ms: number; rows: number}> {
    const t0 = performance.now();
    const {z} = open(userID, false);
    const first = (await z.run(z.query.issue.orderBy('id', 'asc').limit(100))) as unknown[];
    const ms = performance.now() - t0;
    await z.close();
    return {ms, rows: first.length};
  },
  async countRows(userID: string): Promise<number> {
    const {z} = open(userID, false);
    const all = (await z.run(z.query.issue)) as unknown[];
    await z.close();
    return all.length;
  },
  /** Creates `n` small databases (half left open), then times dropAllDatabases. */
  async dropAll(n: number): Promise<{ms: number; dropped: number; errors: number}> {
    const open1: Zero<typeof schema>[] = [];
    for (let i = 0; i < n; i++) {
      const z = new Zero({schema, server: null, userID: `drop${i}`});
      await z.mutate.issue.insert({id: 'a', title: 't', rank: 0, owner: 'o', body: 'b'}).client;
      if (i % 2 === 0) await z.close();
      else open1.push(z);
    }
    await new Promise(r => setTimeout(r, 50));
    const t0 = performance.now();
    const res = await dropAllDatabases();
    const ms = performance.now() - t0;
    return {ms, dropped: res.dropped.length, errors: res.errors.length};
  },
  async databases(): Promise<string[]> {
    return (await indexedDB.databases()).map(d => d.name ?? '');
  },
};

declare global {
  interface Window {
    zb: typeof api;
  }
}
window.zb = api;
