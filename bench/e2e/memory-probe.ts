// zero-cache (the repository's main module, configured by env) with a probe on the IPC
// channel, for the memory benchmark: 'memory' answers with the process's memory figures
// after a full collection, 'snapshot:<file>' writes a heap snapshot there.
import {getHeapStatistics, writeHeapSnapshot} from 'node:v8';

export type MemoryFigures = {
  /** RSS as it is, before any forced collection. */
  rssMiB: number;
  /** Live heap after a full collection. */
  heapUsedMiB: number;
  rssAfterGcMiB: number;
};

const MiB = 2 ** 20;

process.on('message', (m: string) => {
  const gc = (globalThis as {gc?: () => void}).gc;
  if (m === 'memory') {
    const rss = process.memoryUsage.rss();
    gc?.();
    const figures: MemoryFigures = {
      rssMiB: rss / MiB,
      heapUsedMiB: getHeapStatistics().used_heap_size / MiB,
      rssAfterGcMiB: process.memoryUsage.rss() / MiB,
    };
    process.send!({memory: figures});
  } else if (m.startsWith('snapshot:')) {
    gc?.();
    process.send!({snapshot: writeHeapSnapshot(m.slice('snapshot:'.length))});
  }
});

// the channel must not keep the process alive once zero-cache has stopped
process.channel?.unref();
await import('../../packages/cache/src/main.ts');
