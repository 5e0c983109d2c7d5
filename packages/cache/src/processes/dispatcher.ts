// zero-cache on several cores: this (main) process binds the port and hands each WebSocket
// upgrade to the sync worker that owns its client group; one replicator process writes the
// replica (on a view-syncer: follows the change log; server/roles.ts); N sync workers serve
// from it (none on a replication-manager, which refuses upgrades). The dispatcher restarts
// a child that crashes, stops everything on a failure that a restart cannot fix, and drains
// every child on stop(). See docs/processes.md.
import {statSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server} from 'node:http';
import type {Socket} from 'node:net';
import {resolve} from 'node:path';
import type {Logger} from '@zync/shared';
import {resolveEntry, type ResolvedEntry} from '../bin/entry-points.ts';
import type {ZeroConfig} from '../config/parse-config.ts';
import {listenError} from '../server/listen-error.ts';
import {refusalResponse, refusedUpgrades} from '../server/role-rules.ts';
import {ChildHandle, type ChildExit} from './child-handle.ts';
import {DispatcherAdmin} from './dispatcher-admin.ts';
import type {ChildRole, FromChild, ProcessStats, ToChild} from './messages.ts';
import {routedGroupID, workerIndexFor} from './routing.ts';

export type ProcessesOptions = {
  /** Number of sync workers (ZERO_NUM_SYNC_WORKERS); 0 on a replication-manager. */
  readonly workers: number;
  /** The environment the children start with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long a draining child may take before it is killed (default 8 s). */
  readonly drainMs?: number | undefined;
  /** How often the status page's history is sampled (default 10 s). */
  readonly historyIntervalMs?: number | undefined;
  /**
   * Where a child's entry point is (default `resolveEntry`: the sources through tsx in the
   * repository, the compiled files in the package).
   */
  readonly entries?: ((role: ChildRole) => ResolvedEntry) | undefined;
};

export type ProcessInfo = {
  readonly name: string;
  readonly role: ChildRole | 'dispatcher';
  readonly pid: number | undefined;
  readonly ready: boolean;
};

export type ProcessReport = ProcessInfo & {readonly stats: ProcessStats | undefined};

export interface ZeroCacheProcesses {
  /** The port clients connect to, once every worker serves; rejects if stopped first. */
  readonly ready: Promise<number>;
  /** Settles when every process has exited; rejects with the failure that stopped them. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** The processes now (for tests and operators). */
  processes(): ProcessInfo[];
  /**
   * Figures of every process, collected over IPC: where per-process metrics are gathered
   * into one report. A child that does not answer in time has `stats: undefined`.
   */
  stats(): Promise<ProcessReport[]>;
}

/** A failure that restarting cannot fix, reported by a child (one line) or by the dispatcher. */
export class ProcessFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcessFailure';
  }
}

const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 5_000;
/** Starts in a row that end before the child is ready, after which zero-cache gives up. */
const MAX_FAILED_STARTS = 5;
/** How long an upgrade for a restarting worker is held before it gets a 503. */
const QUEUE_MS = 5_000;
const QUEUE_MAX = 10_000;
const STATS_TIMEOUT_MS = 2_000;
const UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n';

type Queued = {readonly msg: ToChild; readonly socket: Socket; readonly timer: NodeJS.Timeout};

/** One child's place: the process now in it, and its restarts. */
type Slot = {
  readonly role: ChildRole;
  readonly index: number;
  readonly name: string;
  handle: ChildHandle | undefined;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** Upgrades waiting for this worker to be ready. */
  queue: Queued[];
};

function slot(role: ChildRole, index: number, name: string): Slot {
  return {role, index, name, handle: undefined, failures: 0, restartTimer: undefined, queue: []};
}

/**
 * Stops reading the socket at the libuv handle, not only the stream. After `child.send` the
 * handle stays open here until the worker acknowledges it, and a handle still reading would
 * take (and drop) the client's first frame, which the client sends as soon as the worker has
 * answered 101. `pause()` alone stops only the stream; the handle's `readStop` is what the
 * stream itself calls when its buffer is full.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as unknown as {_handle?: {reading?: boolean; readStop?: () => number}})
    ._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}

function refuse(socket: Socket): void {
  socket.end(UNAVAILABLE);
}

class Dispatcher implements ZeroCacheProcesses {
  readonly ready: Promise<number>;
  readonly done: Promise<void>;
  readonly #config: ZeroConfig;
  readonly #lc: Logger;
  readonly #o: ProcessesOptions;
  readonly #http: Server;
  readonly #replicator = slot('replicator', 0, 'replicator');
  readonly #workers: Slot[];
  /** /metrics and the admin endpoints, over every process (dispatcher-admin.ts). */
  readonly #admin: DispatcherAdmin;
  /** Set on a replication-manager: the text every upgrade is refused with. */
  readonly #refusal: string | undefined;
  #port = 0;
  #serving = false;
  #workersStarted = false;
  #latestVersion = '';
  #replicaInode: number | undefined;
  #stopping: Promise<void> | undefined;
  #failure: Error | undefined;
  #statsID = 0;
  readonly #statsWaiting = new Map<number, (s: ProcessStats) => void>();
  #resolveReady: (port: number) => void = () => {};
  #rejectReady: (e: unknown) => void = () => {};
  #settleDone: () => void = () => {};

  constructor(config: ZeroConfig, lc: Logger, options: ProcessesOptions) {
    this.#config = config;
    this.#lc = lc.with({component: 'dispatcher'});
    this.#o = options;
    this.#refusal = refusedUpgrades(config);
    this.#workers = Array.from({length: options.workers}, (_, i) =>
      slot('sync-worker', i, `sync-worker-${i}`),
    );
    this.ready = new Promise((res, rej) => {
      this.#resolveReady = res;
      this.#rejectReady = rej;
    });
    this.ready.catch(() => {});
    this.done = new Promise<void>(res => (this.#settleDone = res)).then(() => {
      if (this.#failure) throw this.#failure;
    });
    this.done.then(
      () => this.#rejectReady(new Error('zero-cache stopped before it was ready')),
      e => this.#rejectReady(e),
    );
    this.#admin = new DispatcherAdmin({
      config,
      lc,
      children: () => [this.#replicator, ...this.#workers],
      historyIntervalMs: options.historyIntervalMs,
    });
    this.#http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && (path === '/' || path === '/keepalive')) {
        if (this.#serving) res.writeHead(200, {'content-type': 'text/plain'}).end('OK');
        else res.writeHead(503, {'content-type': 'text/plain'}).end('Starting');
      } else if (this.#admin.http(req, res)) {
        return;
      } else {
        res.writeHead(404, {'content-type': 'text/plain'}).end('Not Found');
      }
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#upgrade(req, socket, head),
    );
    // The port is bound first: a taken port fails start-up at once, before the initial copy.
    this.#listen().then(
      port => {
        this.#port = port;
        if (!this.#stopping) this.#spawn(this.#replicator);
      },
      (e: unknown) => this.#fail(listenError(e, config)),
    );
  }

  #listen(): Promise<number> {
    const http = this.#http;
    return new Promise((res, rej) => {
      http.once('error', rej);
      http.listen(this.#config.port, this.#config.host, () => {
        http.off('error', rej);
        const addr = http.address();
        res(typeof addr === 'object' && addr ? addr.port : this.#config.port);
      });
    });
  }

  processes(): ProcessInfo[] {
    const self: ProcessInfo = {
      name: 'dispatcher',
      role: 'dispatcher',
      pid: process.pid,
      ready: true,
    };
    return [
      self,
      ...[this.#replicator, ...this.#workers].map(s => ({
        name: s.name,
        role: s.role,
        pid: s.handle?.alive ? s.handle.pid : undefined,
        ready: s.handle?.ready ?? false,
      })),
    ];
  }

  async stats(): Promise<ProcessReport[]> {
    const [self, ...children] = this.processes();
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const own: ProcessStats = {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      cpuMicros: cpu.user + cpu.system,
    };
    const slots = [this.#replicator, ...this.#workers];
    const reports = await Promise.all(
      slots.map(async (s, i) => ({...children[i]!, stats: await this.#childStats(s)})),
    );
    return [{...self!, stats: own}, ...reports];
  }

  #childStats(s: Slot): Promise<ProcessStats | undefined> {
    const h = s.handle;
    if (!h?.ready) return Promise.resolve(undefined);
    const id = ++this.#statsID;
    return new Promise(res => {
      const timer = setTimeout(() => {
        this.#statsWaiting.delete(id);
        res(undefined);
      }, STATS_TIMEOUT_MS);
      this.#statsWaiting.set(id, st => {
        clearTimeout(timer);
        res(st);
      });
      void h.send({type: 'stats', id}).then(ok => {
        if (!ok) this.#statsWaiting.get(id)?.(undefined as unknown as ProcessStats);
      });
    });
  }

  #spawn(s: Slot): void {
    s.restartTimer = undefined;
    if (this.#stopping) return;
    s.handle = new ChildHandle(
      s.name,
      (this.#o.entries ?? resolveEntry)(s.role),
      {
        type: 'start',
        role: s.role,
        config: this.#config,
        index: s.index,
        workers: this.#workers.length,
      },
      this.#o.env,
      this.#lc,
      {
        onMessage: msg => this.#onMessage(s, msg),
        onExit: exit => this.#onExit(s, exit),
      },
    );
  }

  #onMessage(s: Slot, msg: FromChild): void {
    switch (msg.type) {
      case 'ready':
        s.failures = 0;
        if (s.role === 'replicator') this.#replicatorReady(msg.version ?? '');
        else this.#workerReady(s);
        return;
      case 'version':
        this.#advanced(msg.version);
        return;
      case 'stats':
        this.#statsWaiting.get(msg.id)?.(msg.stats);
        this.#statsWaiting.delete(msg.id);
        return;
      case 'admin':
        this.#admin.answered(msg);
        return;
      default:
        return;
    }
  }

  #replicatorReady(version: string): void {
    let inode: number | undefined;
    try {
      inode = statSync(resolve(this.#config.replicaFile)).ino;
    } catch {
      inode = undefined;
    }
    const replaced = this.#replicaInode !== undefined && inode !== this.#replicaInode;
    this.#replicaInode = inode;
    if (!this.#workersStarted) {
      this.#workersStarted = true;
      this.#latestVersion = version;
      for (const w of this.#workers) this.#spawn(w);
      // A replication-manager has no worker to wait for.
      this.#maybeServing();
      return;
    }
    if (replaced) {
      // The replicator copied a new replica: workers still read the old file. Restart them
      // (their clients reconnect and get what the new replica holds).
      this.#lc.warn('the replica was copied anew; restarting the sync workers');
      this.#latestVersion = '';
      for (const w of this.#workers) void w.handle?.drain(this.#o.drainMs ?? 8_000);
      return;
    }
    this.#advanced(version);
  }

  #advanced(version: string): void {
    if (version <= this.#latestVersion) return;
    this.#latestVersion = version;
    for (const w of this.#workers) {
      if (w.handle?.ready) void w.handle.send({type: 'version', version});
    }
  }

  #workerReady(w: Slot): void {
    if (this.#latestVersion) void w.handle!.send({type: 'version', version: this.#latestVersion});
    for (const q of w.queue.splice(0)) {
      clearTimeout(q.timer);
      void this.#handOver(w, q.msg, q.socket);
    }
    this.#maybeServing();
  }

  /** Serving from the moment every worker has been ready once. */
  #maybeServing(): void {
    if (!this.#serving && this.#workers.every(x => x.handle?.ready)) {
      this.#serving = true;
      this.#resolveReady(this.#port);
      const host = this.#config.host;
      this.#lc.info('zero-cache ready', {
        ...(this.#config.role === 'all'
          ? {}
          : {role: this.#config.role, node: this.#config.taskId}),
        workers: this.#workers.length,
        version: this.#latestVersion,
        url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${this.#port}`,
      });
    }
  }

  #onExit(s: Slot, exit: ChildExit): void {
    if (this.#stopping) return;
    if (exit.fatal) {
      this.#fail(new ProcessFailure(exit.fatal.message));
      return;
    }
    const how = exit.signal ?? `code ${exit.code}`;
    if (!exit.wasReady) s.failures++;
    if (s.failures >= MAX_FAILED_STARTS) {
      this.#fail(
        new ProcessFailure(`the ${s.name} process failed ${s.failures} times before it was ready`),
      );
      return;
    }
    const delay = Math.min(RESTART_BASE_MS * 2 ** s.failures, RESTART_MAX_MS);
    this.#lc.warn('a child process exited; restarting it', {proc: s.name, exit: how, delay});
    s.restartTimer = setTimeout(() => this.#spawn(s), delay);
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {});
    if (this.#refusal !== undefined) {
      socket.end(refusalResponse(this.#refusal));
      return;
    }
    if (this.#stopping || !this.#workersStarted) {
      refuse(socket);
      return;
    }
    stopReading(socket);
    const groupID = routedGroupID(req.url);
    const w = this.#workers[workerIndexFor(groupID ?? '', this.#workers.length)]!;
    const msg: ToChild = {
      type: 'upgrade',
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      head: head.toString('base64'),
      groupID,
    };
    if (w.handle?.ready) void this.#handOver(w, msg, socket);
    else this.#enqueue(w, msg, socket);
  }

  async #handOver(w: Slot, msg: ToChild, socket: Socket): Promise<void> {
    const sent = (await w.handle?.send(msg, socket)) ?? false;
    if (sent) return;
    // The worker went away in between: hold the socket for the next one.
    if (socket.destroyed) return;
    this.#enqueue(w, msg, socket);
  }

  #enqueue(w: Slot, msg: ToChild, socket: Socket): void {
    if (this.#stopping || w.queue.length >= QUEUE_MAX) {
      refuse(socket);
      return;
    }
    const timer = setTimeout(() => {
      w.queue = w.queue.filter(q => q.socket !== socket);
      refuse(socket);
    }, QUEUE_MS);
    w.queue.push({msg, socket, timer});
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    void this.stop();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#serving = false;
      const slots = [this.#replicator, ...this.#workers];
      for (const s of slots) {
        clearTimeout(s.restartTimer);
        for (const q of s.queue.splice(0)) {
          clearTimeout(q.timer);
          refuse(q.socket);
        }
      }
      // The OTLP export's last push, while the children still answer.
      const adminStopped = this.#admin.stop();
      const http = this.#http;
      const closed = new Promise<void>(res => http.close(() => res()));
      http.closeAllConnections();
      const drainMs = this.#o.drainMs ?? 8_000;
      await Promise.all(slots.map(s => s.handle?.drain(drainMs) ?? Promise.resolve()));
      await closed;
      await adminStopped;
      this.#lc.info('every process has exited');
    })().finally(() => this.#settleDone());
    return this.#stopping;
  }
}

/** Starts the dispatcher, which starts the replicator and then the sync workers. */
export function runZeroCacheProcesses(
  config: ZeroConfig,
  lc: Logger,
  options: ProcessesOptions,
): ZeroCacheProcesses {
  return new Dispatcher(config, lc, options);
}
