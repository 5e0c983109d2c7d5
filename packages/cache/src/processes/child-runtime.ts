// The common life of a zero-cache child process (the replicator, a sync worker): it waits
// for its `start` message, logs through the IPC channel (the dispatcher writes the lines),
// answers `stats` and `admin` requests, drains on `drain`, SIGTERM, SIGINT or a lost parent, and exits: 0 after
// a drain, 1 after a failure (a `fatal` message first when a restart cannot help).
import {createLogger, type Logger} from '@zync/shared';
import type {
  AdminReply,
  AdminRequest,
  ChildRole,
  FromChild,
  ProcessStats,
  ToChild,
} from './messages.ts';

/** Set in a child's environment by the dispatcher: the role the entry point must play. */
export const ROLE_ENV = 'ZYNC_PROCESS_ROLE';

export type StartMessage = Extract<ToChild, {type: 'start'}>;

export type ChildService = {
  /** Resolves once the child serves (the replicator: with the replica's version). */
  readonly ready: Promise<string | undefined>;
  /** Settles when the service has stopped; rejects with what made it fail. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
  stats(): Partial<ProcessStats>;
  /** Answers the dispatcher's operations requests (admin/child-admin.ts). */
  admin?(request: AdminRequest): Promise<AdminReply[AdminRequest['kind']]>;
  onMessage?(msg: ToChild, handle: unknown): void;
};

export type ChildContext = {
  readonly start: StartMessage;
  readonly lc: Logger;
  send(msg: FromChild): void;
};

/** Grace after `done` for the last IPC messages before the process exits regardless. */
const EXIT_GRACE_MS = 1_000;

/**
 * Runs `create` as the child of role `role`, if this process was started as one (the
 * entry point modules are otherwise inert). `fatal(e)` returns the one line to report
 * when `e` is a failure that restarting cannot fix.
 */
export function runChild(
  role: ChildRole,
  create: (ctx: ChildContext) => Promise<ChildService>,
  fatal: (e: unknown) => string | undefined,
): void {
  if (process.env[ROLE_ENV] !== role || !process.send) return;
  const send = (msg: FromChild) => {
    if (process.connected) process.send!(msg);
  };
  let service: ChildService | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (!service) exit(0);
    else void service.stop();
  };
  const exit = (code: number) => {
    process.exitCode = code;
    if (process.connected) process.disconnect();
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  };
  const failed = (e: unknown) => {
    const line = fatal(e);
    if (line !== undefined) {
      send({type: 'fatal', message: line, kind: (e as {kind?: string}).kind});
    } else {
      process.stderr.write(
        `zero-cache ${role} failed: ${e instanceof Error ? e.stack : String(e)}\n`,
      );
    }
    exit(1);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A parent that dies (even by SIGKILL) closes the channel: serve nobody.
  process.once('disconnect', stop);
  process.on('message', (msg: ToChild, handle: unknown) => {
    switch (msg.type) {
      case 'start': {
        if (service) return;
        const lc = createLogger(msg.config.logLevel, (level, text, ctx) =>
          send({type: 'log', level, msg: text, ctx}),
        );
        create({start: msg, lc, send}).then(s => {
          service = s;
          s.ready.then(
            version => send({type: 'ready', version}),
            () => {},
          );
          s.done.then(() => exit(0), failed);
          if (stopping) void s.stop();
        }, failed);
        return;
      }
      case 'stats': {
        const mem = process.memoryUsage();
        const cpu = process.cpuUsage();
        const stats: ProcessStats = {
          rssBytes: mem.rss,
          heapUsedBytes: mem.heapUsed,
          cpuMicros: cpu.user + cpu.system,
          ...service?.stats(),
        };
        send({type: 'stats', id: msg.id, stats});
        return;
      }
      case 'admin': {
        const {id, request} = msg;
        if (!service?.admin) {
          send({type: 'admin', id, error: 'NotReady'});
          return;
        }
        service.admin(request).then(
          reply => send({type: 'admin', id, reply}),
          (e: unknown) => send({type: 'admin', id, error: e instanceof Error ? e.name : 'Error'}),
        );
        return;
      }
      case 'drain':
        stop();
        return;
      default:
        if (service && !stopping) service.onMessage?.(msg, handle);
        else (handle as {destroy?: () => void} | undefined)?.destroy?.();
    }
  });
}
