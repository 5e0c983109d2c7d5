// /proc readings of a zero-cache process tree: the dispatcher and its children (replicator,
// sync workers), each with its role, resident memory and CPU time.
import {readFileSync} from 'node:fs';
import {cpuMs, rssMiB} from '../e2e/harness.ts';

export type ProcReading = {pid: number; role: string; rssMiB: number; cpuMs: number};

/** The pids of the live children of `pid` (none once it has exited). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function role(pid: number): string {
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  if (/sync-worker\.(js|ts)/.test(cmd)) return 'sync-worker';
  if (/replicator(-process)?\.(js|ts)/.test(cmd)) return 'replicator';
  if (/zero-cache\.(js|ts)/.test(cmd)) return 'zero-cache';
  return 'other';
}

/** Every process of the tree under `pid` (itself first) that is still alive. */
export function readTree(pid: number): ProcReading[] {
  const out: ProcReading[] = [];
  const visit = (p: number) => {
    try {
      out.push({pid: p, role: role(p), rssMiB: rssMiB(p), cpuMs: cpuMs(p)});
    } catch {
      return; // exited
    }
    for (const c of childPids(p)) visit(c);
  };
  visit(pid);
  return out.filter(r => r.role !== 'other');
}

export const treeRssMiB = (pid: number) => readTree(pid).reduce((s, r) => s + r.rssMiB, 0);
export const treeCpuMs = (pid: number) => readTree(pid).reduce((s, r) => s + r.cpuMs, 0);
