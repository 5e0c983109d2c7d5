// CPU time of a Node client for the cold benchmark, read when its view is complete.
import {readFileSync} from 'node:fs';

/**
 * `cpuMs`: the whole process (user + system, every thread: GC helpers and the optimizing
 * compiler too). `mainCpuMs`: the main thread alone (Linux, from its schedstat; updated at
 * each scheduler tick, so ±1 tick), which the load of other processes on a shared machine
 * changes far less than wall time.
 */
export function cpuFigures(): {cpuMs: number; mainCpuMs?: number} {
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8');
    return {cpuMs, mainCpuMs: Number(stat.split(' ')[0]) / 1e6};
  } catch {
    return {cpuMs};
  }
}
