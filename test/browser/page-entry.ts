// Bundled by esbuild for the test page: imports the public `zync` entry (browser-safe) and
// exposes what the browser tests drive on `window.zt`.
import type {ConnectionState, Row, ZeroOptions} from 'zync';
import {createSchema, dropAllDatabases, dropDatabase, number, string, table, Zero} from 'zync';

const issue = table('issue')
  .columns({id: string(), title: string(), rank: number()})
  .primaryKey('id');
const big = table('big').columns({id: number(), label: string()}).primaryKey('id');
export const schema = createSchema({tables: [issue, big]});

type Issue = Row<typeof schema.tables.issue>;
type View = {data: unknown; resultType: string; addListener?: unknown; destroy(): void};
type Frame = [string, Record<string, unknown>];
type SocketLike = ReturnType<NonNullable<ZeroOptions<typeof schema>['createSocket']>>;

/** Every frame the page's sockets sent and received, in order. */
const frames: {key: string; dir: 'up' | 'down'; frame: Frame}[] = [];
const warnings: string[] = [];
const errors: string[] = [];
const zeros = new Map<string, Zero<typeof schema>>();

// Console output of the library (warnings, errors) is what the fallback test checks.
const origWarn = console.warn.bind(console);
const origError = console.error.bind(console);
console.warn = (...args: unknown[]) => {
  warnings.push(args.map(String).join(' '));
  origWarn(...args);
};
console.error = (...args: unknown[]) => {
  errors.push(args.map(String).join(' '));
  origError(...args);
};
window.addEventListener('unhandledrejection', e => {
  errors.push(
    `unhandledrejection: ${String((e.reason as Error | undefined)?.message ?? e.reason)}`,
  );
});
window.addEventListener('error', e => {
  errors.push(`error: ${e.message}`);
});

/**
 * Every database the library opened or deleted, in order: what a closed instance must not
 * touch again. (The test's own reads, `rawKeys`, are not recorded.)
 */
const idbCalls: {op: 'open' | 'delete'; name: string}[] = [];
const idbOpen = indexedDB.open.bind(indexedDB);
const idbDelete = indexedDB.deleteDatabase.bind(indexedDB);
indexedDB.open = (name: string, version?: number) => {
  idbCalls.push({op: 'open', name});
  return idbOpen(name, version);
};
indexedDB.deleteDatabase = (name: string) => {
  idbCalls.push({op: 'delete', name});
  return idbDelete(name);
};

function recordingSocket(url: string, key: string): WebSocket {
  const ws = new WebSocket(url);
  const send = ws.send.bind(ws);
  ws.send = (data: string | ArrayBufferLike | Blob | ArrayBufferView) => {
    if (typeof data === 'string') frames.push({key, dir: 'up', frame: JSON.parse(data) as Frame});
    send(data);
  };
  ws.addEventListener('message', e => {
    if (typeof e.data === 'string')
      frames.push({key, dir: 'down', frame: JSON.parse(e.data) as Frame});
  });
  return ws;
}

type OpenOptions = {
  key: string;
  server: string | null;
  userID: string;
  auth?: string;
  storageKey?: string;
  kvStore?: 'idb' | 'mem';
};

function zero(key: string): Zero<typeof schema> {
  const z = zeros.get(key);
  if (!z) throw new Error(`no Zero ${key}`);
  return z;
}

async function waitFor<T>(
  f: () => T | undefined,
  timeoutMs = 10_000,
  what: () => string = () => '',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out ${what()}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

const api = {
  schema,
  frames,
  warnings,
  errors,
  idbCalls,
  /**
   * Resolves on the page's next task: whatever the library started from the microtasks of
   * the last call (a store write, opening a database) has been issued by then.
   */
  nextTask: () => new Promise<void>(resolve => setTimeout(resolve, 0)),
  dropAllDatabases: () => dropAllDatabases(),
  dropDatabase: (name: string) => dropDatabase(name),
  databases: async () =>
    (await indexedDB.databases())
      .map(d => d.name ?? '')
      .filter(n => n.startsWith('zync/'))
      .sort(),
  open(o: OpenOptions): string {
    const z = new Zero({
      schema,
      server: o.server,
      userID: o.userID,
      kvStore: o.kvStore ?? 'idb',
      logLevel: 'warn',
      createSocket: url => recordingSocket(url, o.key) as unknown as SocketLike,
      ...(o.auth === undefined ? {} : {auth: o.auth}),
      ...(o.storageKey === undefined ? {} : {storageKey: o.storageKey}),
    });
    zeros.set(o.key, z);
    return z.idbName;
  },
  state(key: string): ConnectionState {
    return zero(key).connection.state.current;
  },
  async waitState(key: string, name: string, timeoutMs = 10_000): Promise<ConnectionState> {
    const z = zero(key);
    return waitFor(
      () => (z.connection.state.current.name === name ? z.connection.state.current : undefined),
      timeoutMs,
    );
  },
  /** Materializes all issues (ordered by id) and waits until the view has `minRows` rows or is complete. */
  async issues(
    key: string,
    until: {complete?: boolean; minRows?: number} = {complete: true},
  ): Promise<{rows: Issue[]; resultType: string}> {
    const z = zero(key);
    const view = z.materialize(z.query.issue.orderBy('id', 'asc')) as View;
    try {
      return await waitFor(
        () => {
          const rows = view.data as Issue[];
          if (until.complete && view.resultType !== 'complete') return undefined;
          if (until.minRows !== undefined && rows.length < until.minRows) return undefined;
          return {rows: [...rows], resultType: view.resultType};
        },
        10_000,
        () => {
          const state = JSON.stringify(z.connection.state.current);
          const mine = frames.filter(f => f.key === key).map(f => JSON.stringify(f).slice(0, 300));
          return `${key}: ${view.resultType}, ${(view.data as Issue[]).length} rows, ${state}\n${mine.join('\n')}`;
        },
      );
    } finally {
      view.destroy();
    }
  },
  /**
   * Materializes all rows of `big` (ordered by id) until complete (or, offline, until
   * `minRows` are there) and sums them up: count, order, first and last.
   */
  async big(
    key: string,
    until: {complete?: boolean; minRows?: number} = {complete: true},
  ): Promise<{count: number; ordered: boolean; first: unknown; last: unknown}> {
    const z = zero(key);
    const view = z.materialize(z.query.big.orderBy('id', 'asc')) as View;
    try {
      return await waitFor(() => {
        const rows = view.data as {id: number; label: string}[];
        if (until.complete && view.resultType !== 'complete') return undefined;
        if (until.minRows !== undefined && rows.length < until.minRows) return undefined;
        return {
          count: rows.length,
          ordered: rows.every((r, i) => r.id === i + 1 && r.label === `row ${r.id}`),
          first: rows[0],
          last: rows.at(-1),
        };
      }, 20_000);
    } finally {
      view.destroy();
    }
  },
  async run(key: string): Promise<Issue[]> {
    const z = zero(key);
    return await z.run(z.query.issue.orderBy('id', 'asc'));
  },
  async insert(key: string, row: Issue): Promise<void> {
    const r = zero(key).mutate.issue.insert(row) as unknown as {client: Promise<void>};
    await r.client;
  },
  close: (key: string) => zero(key).close(),
  delete: (key: string) => zero(key).delete(),
  /** Keys under `prefix` in a database, read with a connection of its own. */
  rawKeys(name: string, prefix: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const req = idbOpen(name);
      req.onerror = () => reject(new Error('open failed'));
      req.onsuccess = () => {
        const db = req.result;
        const keys = db
          .transaction('kv', 'readonly')
          .objectStore('kv')
          .getAllKeys(IDBKeyRange.bound(prefix, `${prefix}\uffff`));
        keys.onsuccess = () => {
          db.close();
          resolve(keys.result as string[]);
        };
        keys.onerror = () => {
          db.close();
          reject(new Error('getAllKeys failed'));
        };
      };
    });
  },
  /** Removes BroadcastChannel, as in browsers or workers without it. */
  disableBroadcastChannel(): void {
    (globalThis as {BroadcastChannel?: unknown}).BroadcastChannel = undefined;
  },
  /** Makes IndexedDB fail to open, as some private modes do. */
  breakIndexedDB(): void {
    indexedDB.open = () => {
      throw new DOMException(
        'The user denied permission to access the database.',
        'InvalidStateError',
      );
    };
  },
};

declare global {
  interface Window {
    zt: typeof api;
  }
}
window.zt = api;
