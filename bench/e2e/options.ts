// What the benchmark entry points share about their setting: numbers from the environment
// and the one-line description of the machine that every results file records.
import {cpus, totalmem} from 'node:os';

/** The positive integers of a comma-separated setting (`d` when unset); others dropped. */
export function ints(s: string | undefined, d: string): number[] {
  return (s ?? d)
    .split(',')
    .map(x => Number(x.trim()))
    .filter(n => Number.isInteger(n) && n > 0);
}

/** Cores, CPU model and memory, e.g. `2 cores (…), 24 GiB`. */
export function machineLine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB`;
}
