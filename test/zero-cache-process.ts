// zero-cache as a child process, run from its sources through the bin, as the tests that
// need a real process (start-up, crashes) run it. `startOnFreePort` asks the OS for a free
// port; another process can take that port before the child binds it, in which case the
// child says so and exits at once, and another port is tried.
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {sourceBinArgs} from '../scripts/source-bin.ts';
import {freePort} from './free-port.ts';

export type BinRun = {
  readonly child: ChildProcess;
  /** stdout and stderr so far, in the order they arrived. */
  output(): string;
  stderr(): string;
  /** Settles with the exit code once the process has exited and its streams closed. */
  readonly exit: Promise<number | null>;
  /** Whether `exit` has settled. */
  closed(): boolean;
};

const running = new Set<ChildProcess>();

/** Starts zero-cache with `env` (and PATH) only. */
export function startBin(env: Record<string, string>): BinRun {
  const child = spawn(process.execPath, sourceBinArgs('zero-cache'), {
    env: {PATH: process.env['PATH'] ?? '', ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  let closed = false;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
    err += d.toString();
  });
  const exit = new Promise<number | null>(resolve =>
    child.once('close', code => {
      closed = true;
      running.delete(child);
      resolve(code);
    }),
  );
  return {child, output: () => out, stderr: () => err, exit, closed: () => closed};
}

const PORT_TAKEN = /cannot listen on port \d+ .*already in use/;
const ATTEMPTS = 5;

/**
 * Starts zero-cache on a free port (ZERO_PORT, with ZERO_HOST=127.0.0.1) and resolves once
 * `until` holds (checked every 50 ms; `until` may wait for the exit). Rejects with the
 * process's output if it exits before `until` holds. A port taken meanwhile is retried.
 */
export async function startOnFreePort(
  env: Record<string, string>,
  until: (run: BinRun, port: number) => boolean | Promise<boolean>,
): Promise<{run: BinRun; port: number}> {
  attempts: for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const run = startBin({...env, ZERO_HOST: '127.0.0.1', ZERO_PORT: String(port)});
    for (;;) {
      if (run.closed() && attempt < ATTEMPTS && PORT_TAKEN.test(run.stderr())) continue attempts;
      if (await until(run, port)) return {run, port};
      if (run.closed()) {
        throw new Error(`zero-cache exited (${await run.exit}) before it was up:\n${run.output()}`);
      }
      await Promise.race([run.exit, new Promise(r => setTimeout(r, 50))]);
    }
  }
}

/** Resolves once `run`'s output matches `re`; rejects if the process exits first. */
export function outputMatches(run: BinRun, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!re.test(run.output())) return;
      stop();
      resolve();
    };
    const exited = () => {
      stop();
      reject(new Error(`zero-cache exited before printing ${re}:\n${run.output()}`));
    };
    const stop = () => {
      run.child.stdout?.off('data', check);
      run.child.stderr?.off('data', check);
      run.child.off('close', exited);
    };
    run.child.stdout?.on('data', check);
    run.child.stderr?.on('data', check);
    run.child.once('close', exited);
    check();
    if (run.closed()) exited();
  });
}

/** Kills every child still running (for afterAll). */
export function killAll(): void {
  for (const c of running) c.kill('SIGKILL');
}

/** Whether zero-cache's health endpoint answers on `port`. */
export async function serves(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, {signal: AbortSignal.timeout(1_000)});
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
