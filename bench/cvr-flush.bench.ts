// The CVR write that follows a hydration: one group's CVR gets BENCH_ROWS (100k) rows in
// one step, then its changes are taken and written to Postgres. Reports the time to take
// the writes, the time to write them, how much the heap grew while they were taken, and
// how much of that is live (what the write holds until its last chunk is sent).
// BENCH_RUNS (5) groups in a row. Then the small writes that follow one replica change:
// BENCH_GROUPS (50) groups each write a one-row step in the same turn (one shared
// statement), BENCH_ROUNDS (200) times; reports the median time of such a round.
// Run: npm run bench -- cvr-flush.
import pg from 'pg';
import {silentLogger} from '@zync/shared';
import {CVRStep} from '../packages/cache/src/cvr/cvr-step.ts';
import {CVRStore} from '../packages/cache/src/cvr/cvr-store.ts';
import {onStop, startPostgres, stopAll} from './e2e/harness.ts';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 100_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const GROUPS = Number(process.env['BENCH_GROUPS'] ?? 50);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 200);
const gc = (globalThis as {gc?: () => void}).gc ?? (() => {});
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const {url} = await startPostgres();
  const pool = new pg.Pool({connectionString: url});
  onStop(() => pool.end());
  const store = new CVRStore(pool, 'bench', silentLogger);
  await store.init();
  const take: number[] = [];
  const write: number[] = [];
  const grew: number[] = [];
  const kept: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const {cvr} = await store.load(`g${run}`);
    const step = new CVRStep(cvr);
    for (let i = 0; i < ROWS; i++) {
      const id = `issue-${i.toString().padStart(6, '0')}`;
      step.addRow('q1', 'issue', {id}, {id, title: `Issue number ${i}`, status: 'open', n: i});
    }
    step.gotQuery('q1');
    step.finish('v1');
    gc();
    const before = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const w = cvr.takeWrites();
    const t1 = performance.now();
    const grown = process.memoryUsage().heapUsed - before;
    gc();
    const held = process.memoryUsage().heapUsed - before;
    const t2 = performance.now();
    await store.flush(w);
    const t3 = performance.now();
    take.push(t1 - t0);
    write.push(t3 - t2);
    grew.push(grown);
    kept.push(held);
    console.log(
      `group ${run}: take ${(t1 - t0).toFixed(0)} ms (heap +${mib(grown)} MiB, ` +
        `+${mib(held)} MiB live), write ${(t3 - t2).toFixed(0)} ms`,
    );
  }
  console.log(
    `median of ${RUNS}, ${ROWS} rows: take ${median(take).toFixed(0)} ms, write ` +
      `${median(write).toFixed(0)} ms; heap after taking +${mib(median(grew))} MiB, ` +
      `of which live +${mib(median(kept))} MiB`,
  );
  const small = await Promise.all(
    Array.from({length: GROUPS}, (_, i) => store.load(`small${i}`).then(l => l.cvr)),
  );
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const writes = small.map(cvr => {
      const step = new CVRStep(cvr);
      const id = `issue-${round % 10}`;
      step.addRow('q1', 'issue', {id}, {id, title: `Round ${round}`, n: round});
      step.gotQuery('q1');
      step.finish(`v${round}`);
      return cvr.takeWrites();
    });
    const t0 = performance.now();
    await Promise.all(writes.map(w => store.flush(w)));
    rounds.push(performance.now() - t0);
  }
  console.log(
    `median of ${ROUNDS} rounds, ${GROUPS} groups writing one row each: ` +
      `${median(rounds).toFixed(2)} ms per round`,
  );
} finally {
  await stopAll();
}
