// zero-cache on several nodes, on this machine (docs/scale-out.md): one replication-manager
// and N view-syncers, each a real zero-cache process started from the sources through the
// bin, on free ports of 127.0.0.1, sharing one Postgres, with HAProxy in front routing on
// `clientGroupID`. For the end-to-end tests, failure tests and benchmarks of several nodes.
//
// Every node keeps its ports and replica file across restarts, so that HAProxy's config stays
// valid and a restarted node resumes from its replica. Processes are stopped by PID.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {
  localPgFlags,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../scripts/embedded-postgres.ts';
import {freePort} from './free-port.ts';
import {startHaproxy, type Haproxy, type HaproxyBackend} from './haproxy.ts';
import {serves, startBin, type BinRun} from './zero-cache-process.ts';

export type ClusterRole = 'replication-manager' | 'view-syncer';

export type ClusterNode = {
  /** `manager`, `vs0`, `vs1`, … (also its ZERO_TASK_ID and HAProxy server name). */
  readonly name: string;
  readonly role: ClusterRole;
  /** ZERO_PORT: sync clients (view-syncers), health, /metrics, /admin. */
  readonly port: number;
  /** The manager's snapshot server (ZERO_CHANGE_STREAMER_PORT); 0 on a view-syncer. */
  readonly changeStreamerPort: number;
  readonly replicaFile: string;
  /** The process now, if one was started (it may have exited). */
  readonly run: BinRun | undefined;
  /** Whether a process of this node is running. */
  running(): boolean;
  /** Starts the process (again) and resolves once `GET /` answers 200; ms it took. */
  start(): Promise<number>;
  /** SIGTERM, then waits for the exit (zero-cache drains within 10 s). */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** GET /admin/groups/<id> answers 200: the group is in memory on this node. */
  holds(clientGroupID: string): Promise<boolean>;
  /** An admin endpoint's JSON (Bearer ZERO_ADMIN_PASSWORD), e.g. `/admin/statz`. */
  admin(path: string): Promise<{status: number; body: unknown}>;
  /**
   * The child processes of a node with ZERO_NUM_SYNC_WORKERS ≥ 2 and their role
   * (`replicator`, `sync-worker`), read from /proc (Linux).
   */
  children(): {pid: number; role: string}[];
};

export type ClusterOptions = {
  /** Upstream database; unset: the cluster starts an embedded Postgres of its own. */
  readonly upstreamUrl?: string | undefined;
  /** View-syncers started at first (default 2). */
  readonly viewSyncers?: number | undefined;
  /** Extra environment of every node (ZERO_NUM_SYNC_WORKERS, ZERO_SCHEMA_PATH, …). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly managerEnv?: Readonly<Record<string, string>> | undefined;
  readonly viewSyncerEnv?: Readonly<Record<string, string>> | undefined;
  /** Environment of the first view-syncers by index, over `viewSyncerEnv`. */
  readonly viewSyncerEnvs?: readonly Readonly<Record<string, string>>[] | undefined;
};

export type Cluster = {
  readonly manager: ClusterNode;
  /** Every view-syncer started so far (also the stopped ones), in order. */
  readonly viewSyncers: readonly ClusterNode[];
  readonly haproxy: Haproxy;
  /** What clients connect to: HAProxy's address (`http://127.0.0.1:<port>`). */
  readonly url: string;
  readonly upstreamUrl: string;
  readonly appId: string;
  readonly adminPassword: string;
  /** The running view-syncer that holds the group in memory, if any. */
  nodeOf(clientGroupID: string): Promise<ClusterNode | undefined>;
  /** Starts one more view-syncer and adds it to HAProxy; resolves once it serves. */
  addViewSyncer(env?: Readonly<Record<string, string>>): Promise<ClusterNode>;
  /** Resolves once HAProxy's health checks see each named node in the given state. */
  waitForStates(want: Readonly<Record<string, 'UP' | 'DOWN'>>): Promise<void>;
  /** Stops HAProxy, every node, and the embedded Postgres if the cluster started one. */
  stop(): Promise<void>;
};

let clusters = 0;
const POLL_MS = 50;
const START_LIMIT_MS = 120_000;

async function waitFor(what: string, cond: () => Promise<boolean>, limitMs: number) {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, POLL_MS)); // the poll interval of a condition wait
  }
}

type NodeSpec = {
  readonly name: string;
  readonly role: ClusterRole;
  readonly port: number;
  readonly changeStreamerPort: number;
  readonly replicaFile: string;
  readonly env: Readonly<Record<string, string>>;
  readonly adminPassword: string;
};

function makeNode(spec: NodeSpec): ClusterNode {
  let run: BinRun | undefined;
  const running = () => run !== undefined && !run.closed();
  const env = {
    ...spec.env,
    ZERO_ROLE: spec.role,
    ZERO_TASK_ID: spec.name,
    ZERO_HOST: '127.0.0.1',
    ZERO_PORT: String(spec.port),
    ZERO_REPLICA_FILE: spec.replicaFile,
  };
  const auth = {authorization: `Bearer ${spec.adminPassword}`};
  const admin = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${spec.port}${path}`, {
      headers: auth,
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the text itself.
    }
    return {status: res.status, body};
  };
  return {
    ...spec,
    get run() {
      return run;
    },
    running,
    async start() {
      if (running()) throw new Error(`${spec.name} is already running`);
      const t0 = performance.now();
      const r = startBin(env);
      run = r;
      await waitFor(
        `${spec.name} to serve`,
        async () => {
          if (r.closed()) {
            throw new Error(
              `${spec.name} exited (${await r.exit}) before it served:\n${r.output()}`,
            );
          }
          return serves(spec.port);
        },
        START_LIMIT_MS,
      );
      return performance.now() - t0;
    },
    async stop() {
      if (!run || run.closed()) return run ? run.exit : null;
      run.child.kill('SIGTERM');
      return run.exit;
    },
    async kill() {
      if (!run || run.closed()) return;
      run.child.kill('SIGKILL');
      await run.exit;
    },
    async holds(clientGroupID) {
      if (!running()) return false;
      try {
        return (await admin(`/admin/groups/${encodeURIComponent(clientGroupID)}`)).status === 200;
      } catch {
        return false;
      }
    },
    admin,
    children() {
      const pid = run && !run.closed() ? run.child.pid : undefined;
      if (pid === undefined) return [];
      let list: string;
      try {
        list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
      } catch {
        return [];
      }
      return list
        .split(/\s+/)
        .filter(x => x !== '')
        .map(Number)
        .map(child => {
          let role = '';
          try {
            const env = readFileSync(`/proc/${child}/environ`, 'utf8').split('\0');
            role = env.find(e => e.startsWith('ZYNC_PROCESS_ROLE='))?.slice(18) ?? '';
          } catch {
            // Exited meanwhile.
          }
          return {pid: child, role};
        });
    },
  };
}

/** Starts Postgres (unless given), the manager, the view-syncers and HAProxy, in that order. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'zync-cluster-'));
  let pg: EmbeddedPostgres | undefined;
  let upstreamUrl = opts.upstreamUrl;
  if (upstreamUrl === undefined) {
    pg = await startEmbeddedPostgres({
      port: await freePort(),
      flags: localPgFlags(),
    });
    upstreamUrl = pg.url();
  }
  const appId = `cluster_${process.pid}_${clusters++}`;
  const adminPassword = `cluster-secret-${process.pid}-${Date.now()}`;
  const common = {
    ZERO_UPSTREAM_DB: upstreamUrl,
    ZERO_APP_ID: appId,
    ZERO_ADMIN_PASSWORD: adminPassword,
    ZERO_NUM_SYNC_WORKERS: '1',
    ...opts.env,
  };
  const managerPort = await freePort();
  const changeStreamerPort = await freePort();
  const manager = makeNode({
    name: 'manager',
    role: 'replication-manager',
    port: managerPort,
    changeStreamerPort,
    replicaFile: join(dir, 'manager.db'),
    env: {
      ...common,
      ZERO_CHANGE_STREAMER_PORT: String(changeStreamerPort),
      ...opts.managerEnv,
    },
    adminPassword,
  });
  const viewSyncers: ClusterNode[] = [];
  const newViewSyncer = async (env?: Readonly<Record<string, string>>) => {
    const name = `vs${viewSyncers.length}`;
    const node = makeNode({
      name,
      role: 'view-syncer',
      port: await freePort(),
      changeStreamerPort: 0,
      replicaFile: join(dir, `${name}.db`),
      env: {
        ...common,
        ZERO_CHANGE_STREAMER_URI: `http://127.0.0.1:${changeStreamerPort}`,
        ...opts.viewSyncerEnv,
        ...env,
      },
      adminPassword,
    });
    viewSyncers.push(node);
    return node;
  };
  const backends = (): HaproxyBackend[] =>
    viewSyncers.map(n => ({name: n.name, host: '127.0.0.1', port: n.port}));
  let haproxy: Haproxy | undefined;
  const stopAll = async () => {
    await haproxy?.stop();
    await Promise.all([...viewSyncers, manager].map(n => n.stop()));
    await pg?.stop();
    rmSync(dir, {recursive: true, force: true});
  };
  try {
    await manager.start();
    for (let i = 0; i < (opts.viewSyncers ?? 2); i++) {
      await newViewSyncer(opts.viewSyncerEnvs?.[i]);
    }
    await Promise.all(viewSyncers.map(n => n.start()));
    haproxy = await startHaproxy({backends: backends()});
  } catch (e) {
    await stopAll();
    throw e;
  }
  const proxy = haproxy;
  const waitForStates = async (want: Readonly<Record<string, 'UP' | 'DOWN'>>) => {
    await waitFor(
      `HAProxy to see ${JSON.stringify(want)}`,
      async () => {
        const states = await proxy.states();
        return Object.entries(want).every(([name, s]) => states[name] === s);
      },
      30_000,
    );
  };
  return {
    manager,
    viewSyncers,
    haproxy: proxy,
    url: `http://127.0.0.1:${proxy.port}`,
    upstreamUrl,
    appId,
    adminPassword,
    async nodeOf(clientGroupID) {
      for (const n of viewSyncers) if (await n.holds(clientGroupID)) return n;
      return undefined;
    },
    async addViewSyncer(env) {
      const node = await newViewSyncer(env);
      await node.start();
      await proxy.reload(backends());
      await waitForStates({[node.name]: 'UP'});
      return node;
    },
    waitForStates,
    stop: stopAll,
  };
}

/**
 * Sends a WebSocket upgrade request to `port` and resolves with the HTTP answer when it is not
 * a `101` (rejects if the upgrade is accepted).
 */
export function refusedUpgrade(
  port: number,
  path = '/sync/v4/connect?clientGroupID=g',
): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('response', res => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}));
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error(`the upgrade on port ${port} was accepted`));
    });
    req.on('error', reject);
    req.end();
  });
}
