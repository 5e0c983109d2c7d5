// HAProxy in front of test backends, as docs/scale-out.md puts it in front of view syncers:
// requests and WebSockets are routed by the `clientGroupID` URL parameter on a consistent
// hash, HTTP health checks take a dead backend out within a few hundred milliseconds, and
// its groups move to the others. The config is written to a temporary folder; haproxy runs
// as a child in the foreground (`-db`) on a free port of 127.0.0.1 and is stopped by PID.
//
// Where haproxy is missing, the harness installs Debian's package when it runs as root
// (as `.ci/run` does), and otherwise throws an error that names the fix.
import {spawn, spawnSync} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {accessSync, constants, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {connect} from 'node:net';
import {tmpdir} from 'node:os';
import {delimiter, dirname, join} from 'node:path';
import {freePort} from './free-port.ts';

export type HaproxyBackend = {readonly name: string; readonly host: string; readonly port: number};

export type HaproxyOptions = {
  readonly backends: readonly HaproxyBackend[];
  /** The path health checks GET; a backend that does not answer it with 200 is taken out. */
  readonly healthPath?: string;
};

/** haproxy's word for a server's state: `UP`, `DOWN`, `MAINT`, `NOLB`, `DRAIN`, ... */
export type ServerState = string;

export type Haproxy = {
  readonly port: number;
  readonly pid: number;
  /** Each backend's state as haproxy's health checks see it (`UP`, `DOWN`, ...). */
  states(): Promise<Record<string, ServerState>>;
  /** Writes a new config with `backends` and replaces the process (`-sf`), same port. */
  reload(backends: readonly HaproxyBackend[]): Promise<void>;
  stop(): Promise<void>;
};

const INSTALL = 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy';
const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const HOST_RE = /^[A-Za-z0-9_.:-]{1,253}$/;

export type BinarySearch = {
  /** Folders to look in; by default PATH's and the sbin folders, which non-root PATHs lack. */
  readonly dirs: readonly string[];
  /** The user id; only root (0) installs. */
  readonly uid: number | undefined;
};

const defaultSearch = (): BinarySearch => ({
  dirs: [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'],
  uid: process.getuid?.(),
});

/** haproxy's path, installed first when missing and this process may install it. */
export function haproxyBinary(search: BinarySearch = defaultSearch()): string {
  const found = findIn(search.dirs, 'haproxy');
  if (found) return found;
  if (search.uid !== 0) {
    throw new Error(
      `haproxy is not installed and this process is not root, so it cannot install it. Fix: run as root \`${INSTALL}\` (Debian), or put haproxy on PATH.`,
    );
  }
  // Test files run in parallel: one installs, the others wait on the lock, then find it.
  const script = `[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || (${INSTALL})`;
  const lock = join(tmpdir(), 'haproxy-install.lock');
  const res = spawnSync('flock', [lock, 'bash', '-c', script], {encoding: 'utf8', stdio: 'pipe'});
  const after = findIn(search.dirs, 'haproxy');
  if (res.status !== 0 || !after) {
    throw new Error(
      `installing haproxy failed (exit ${res.status}). Fix: run \`${INSTALL}\` by hand and read its output.\n${(res.stderr ?? '').slice(-2000)}`,
    );
  }
  return after;
}

function findIn(dirs: readonly string[], name: string): string | undefined {
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

function validate(o: HaproxyOptions): void {
  if (o.backends.length === 0) throw new TypeError('startHaproxy: give at least one backend');
  const names = new Set<string>();
  for (const b of o.backends) {
    if (!NAME_RE.test(b.name) || names.has(b.name)) {
      throw new TypeError('startHaproxy: backend names must be unique words of [A-Za-z0-9_.-]');
    }
    names.add(b.name);
    if (!HOST_RE.test(b.host)) throw new TypeError('startHaproxy: a backend host is not a host');
    if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) {
      throw new TypeError('startHaproxy: backend ports must be integers from 1 to 65535');
    }
  }
  const path = o.healthPath;
  if (path !== undefined && !/^\/[A-Za-z0-9_./?=&-]*$/.test(path)) {
    throw new TypeError('startHaproxy: healthPath must be a path starting with /');
  }
}

function config(dir: string, port: number, o: HaproxyOptions): string {
  const servers = o.backends.map(
    b => `  server ${b.name} ${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port} check`,
  );
  return `global
  maxconn 2000
  stats socket ${join(dir, 'admin.sock')} mode 600 level admin

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A WebSocket, once upgraded, is a tunnel: it may stay quiet between pings for long.
  timeout tunnel 1h
  timeout http-keep-alive 2s
  # A connection refused by a server that the checks have not yet marked down is retried
  # on another one at once: \`redispatch 1\` redispatches on every retry. With plain
  # \`option redispatch\` only the last retry does, and each retry on the same server waits
  # the turn-around timer, min(timeout connect, 1 s), first.
  option redispatch 1
  retries 2

frontend sync
  bind 127.0.0.1:${port}
  default_backend view_syncers

backend view_syncers
  # One client group, one view syncer: the group's CVR and pipelines live there.
  balance url_param clientGroupID
  hash-type consistent
  option httpchk
  http-check send meth GET uri ${o.healthPath ?? '/'}
  http-check expect status 200
  # A node taken out also loses its WebSockets: its clients reconnect to their new node.
  # A dead node refuses the check's connection at once, so it is out after two checks
  # (~400 ms). A live node busy with a burst of hydrations may answer a check late: without
  # \`timeout check\` the limit would be \`inter\` (200 ms) and busy nodes would flap DOWN,
  # sending their new groups elsewhere and cutting the moves of a failover.
  timeout check 2s
  default-server inter 200ms fastinter 200ms downinter 200ms fall 2 rise 1 on-marked-down shutdown-sessions
${servers.join('\n')}
`;
}

type Child = {
  proc: ChildProcess;
  /** The folder of its config (one per startHaproxy). */
  dir: string;
  output: () => string;
  exited: Promise<number | null>;
};

function spawnHaproxy(bin: string, cfg: string, replacePid?: number): Child {
  const args = ['-f', cfg, '-db', ...(replacePid ? ['-sf', String(replacePid)] : [])];
  const proc = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>(resolve => proc.once('close', code => resolve(code)));
  return {proc, dir: dirname(cfg), output: () => out, exited};
}

function accepts(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once haproxy accepts on `port`; false when it exited first. */
async function started(child: Child, port: number): Promise<boolean> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!exited && Date.now() < deadline) {
    if (await accepts(port)) return !exited;
    await new Promise(r => setTimeout(r, 25)); // The poll interval of a condition wait.
  }
  return false;
}

async function kill(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  await child.exited;
}

function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.once('error', reject);
    s.once('end', () => resolve(out));
    s.once('connect', () => s.write(`${command}\n`));
  });
}

const running = new Set<Child>();
process.once('exit', () => {
  for (const c of running) c.proc.kill('SIGKILL');
});

export async function startHaproxy(o: HaproxyOptions): Promise<Haproxy> {
  validate(o);
  const bin = haproxyBinary();
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  let child: Child | undefined;
  let port = 0;
  // Another process may take the free port before haproxy binds it: then try another.
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    writeFileSync(cfg, config(dir, port, o));
    const c = spawnHaproxy(bin, cfg);
    running.add(c);
    if (await started(c, port)) {
      child = c;
      break;
    }
    await kill(c);
    running.delete(c);
    if (!/cannot bind socket/i.test(c.output()) || attempt >= 5) {
      rmSync(dir, {recursive: true, force: true});
      throw new Error(`haproxy did not start:\n${c.output().slice(-3000)}`);
    }
  }
  let current = child;
  let options = o;
  return {
    port,
    get pid() {
      return current.proc.pid ?? 0;
    },
    async states() {
      const csv = await adminCommand(join(dir, 'admin.sock'), 'show stat');
      const out: Record<string, ServerState> = {};
      for (const line of csv.split('\n')) {
        const f = line.split(',');
        // pxname, svname, ..., status is the 18th field.
        if (f[0] !== 'view_syncers' || !f[1] || f[1] === 'BACKEND') continue;
        out[f[1]] = (f[17] ?? '').split(' ')[0] ?? '';
      }
      return out;
    },
    async reload(backends) {
      options = {...options, backends};
      validate(options);
      writeFileSync(cfg, config(dir, port, options));
      const old = current;
      const next = spawnHaproxy(bin, cfg, old.proc.pid);
      running.add(next);
      // The new process binds the port and the stats socket, then tells the old one to
      // finish: the old one stops listening but serves its open connections (WebSockets)
      // until they close. Reloaded once the stats socket answers from the new process.
      const sock = join(dir, 'admin.sock');
      const answersFromNext = async () => {
        const info = await adminCommand(sock, 'show info').catch(() => '');
        return new RegExp(`^Pid: ${next.proc.pid}$`, 'm').test(info);
      };
      let nextExited = false;
      void next.exited.then(() => (nextExited = true));
      while (!nextExited && !(await answersFromNext())) {
        await new Promise(r => setTimeout(r, 25)); // The poll interval of a condition wait.
      }
      if (nextExited) {
        running.delete(next);
        throw new Error(`haproxy did not reload:\n${next.output().slice(-3000)}`);
      }
      // The old process stays in `running` (killed on stop or exit) until it has finished.
      void old.exited.then(() => running.delete(old));
      current = next;
    },
    async stop() {
      // Processes replaced by a reload that still serve old connections go too.
      await Promise.all([...running].filter(c => c.dir === dir).map(kill));
      for (const c of [...running]) if (c.dir === dir) running.delete(c);
      rmSync(dir, {recursive: true, force: true});
    },
  };
}
