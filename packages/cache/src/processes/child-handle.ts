// The dispatcher's side of one child process: forks it from the entry point it is given
// (bin/entry-points.ts: the sources through tsx in the repository, the compiled file in the
// package), relays its log lines, sends it messages and sockets, and drains or kills it.
import {fork, type ChildProcess} from 'node:child_process';
import type {Socket} from 'node:net';
import type {Logger} from '@zync/shared';
import type {ResolvedEntry} from '../bin/entry-points.ts';
import {ROLE_ENV, type StartMessage} from './child-runtime.ts';
import type {ChildRole, FromChild, ToChild} from './messages.ts';

export type ChildExit = {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The child's own `fatal` line, if it sent one. */
  readonly fatal: {readonly message: string; readonly kind?: string | undefined} | undefined;
  readonly wasReady: boolean;
};

export type ChildEvents = {
  /** Every message but `log` (which is written with the dispatcher's logger). */
  onMessage(msg: FromChild): void;
  onExit(exit: ChildExit): void;
};

/**
 * The profiling flags of the dispatcher's own command line (`--cpu-prof`, `--cpu-prof-dir=…`,
 * `--heap-prof`, …), passed on to each child so that `node --cpu-prof zero-cache` profiles
 * every process. Node does not take them from NODE_OPTIONS.
 */
export function profilingFlags(execArgv: readonly string[]): string[] {
  return execArgv.filter(a => /^--(cpu|heap)-prof(-[a-z]+)?(=.*)?$/.test(a));
}

export class ChildHandle {
  readonly name: string;
  readonly role: ChildRole;
  readonly #child: ChildProcess;
  readonly #lc: Logger;
  #ready = false;
  #exited = false;
  #fatal: ChildExit['fatal'];
  readonly exited: Promise<void>;

  constructor(
    name: string,
    entry: ResolvedEntry,
    start: StartMessage,
    env: Readonly<Record<string, string | undefined>>,
    lc: Logger,
    events: ChildEvents,
  ) {
    this.name = name;
    this.role = start.role;
    this.#lc = lc.with({proc: name});
    this.#child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, ...profilingFlags(process.execArgv)],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {...env, [ROLE_ENV]: start.role},
    });
    this.#child.on('message', (msg: FromChild) => {
      switch (msg.type) {
        case 'log':
          this.#lc[msg.level](msg.msg, msg.ctx);
          return;
        case 'ready':
          this.#ready = true;
          break;
        case 'fatal':
          this.#fatal = {message: msg.message, kind: msg.kind};
          break;
      }
      events.onMessage(msg);
    });
    // A failed send (the child is gone) is seen by its callback; 'exit' follows.
    this.#child.on('error', e => this.#lc.debug('child process error', {error: e.message}));
    this.exited = new Promise(resolve => {
      this.#child.once('exit', (code, signal) => {
        this.#exited = true;
        const wasReady = this.#ready;
        this.#ready = false;
        events.onExit({code, signal, fatal: this.#fatal, wasReady});
        resolve();
      });
    });
    this.#child.send(start);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** True between the child's `ready` and its exit. */
  get ready(): boolean {
    return this.#ready;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** Sends `msg` (with a socket); resolves false if the child could not take it. */
  send(msg: ToChild, socket?: Socket): Promise<boolean> {
    if (this.#exited || !this.#child.connected) return Promise.resolve(false);
    return new Promise(resolve => {
      try {
        const cb = (e: Error | null) => resolve(!e);
        if (socket) this.#child.send(msg, socket, {keepOpen: false}, cb);
        else this.#child.send(msg, cb);
      } catch {
        resolve(false);
      }
    });
  }

  /**
   * Asks the child to close its sockets, flush and exit; kills it if it has not exited
   * `deadlineMs` later.
   */
  async drain(deadlineMs: number): Promise<void> {
    if (this.#exited) return;
    void this.send({type: 'drain'});
    const timer = setTimeout(() => {
      this.#lc.warn('child did not exit in time; killing it', {ms: deadlineMs});
      this.kill();
    }, deadlineMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.#exited) this.#child.kill(signal);
  }
}
