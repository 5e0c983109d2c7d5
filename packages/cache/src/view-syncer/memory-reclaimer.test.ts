import {afterEach, expect, test, vi} from 'vitest';
import {silentLogger} from '@zync/shared';
import {engineGC, MemoryReclaimer, RECLAIM_MIN_ROWS} from './memory-reclaimer.ts';

afterEach(() => {
  vi.useRealTimers();
});

test('a burst of large releases gets one series of three collections; small ones none', () => {
  vi.useFakeTimers();
  const gc = vi.fn();
  const r = new MemoryReclaimer(silentLogger, {gc, delayMs: 1000, againMs: 5000});
  r.released(RECLAIM_MIN_ROWS - 1);
  vi.advanceTimersByTime(10_000);
  expect(gc).not.toHaveBeenCalled();
  r.released(100_000);
  vi.advanceTimersByTime(500);
  r.released(100_000);
  vi.advanceTimersByTime(999);
  expect(gc).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(gc).toHaveBeenCalledTimes(1);
  vi.advanceTimersByTime(5000);
  expect(gc).toHaveBeenCalledTimes(2);
  vi.advanceTimersByTime(5000);
  expect(gc).toHaveBeenCalledTimes(3);
  vi.advanceTimersByTime(60_000);
  expect(gc).toHaveBeenCalledTimes(3);
  r.stop();
});

test('without a collector, releases schedule nothing', () => {
  vi.useFakeTimers();
  const r = new MemoryReclaimer(silentLogger, {gc: undefined});
  r.released(1_000_000);
  expect(vi.getTimerCount()).toBe(0);
  const withGC = new MemoryReclaimer(silentLogger, {gc: () => {}});
  withGC.released(1_000_000);
  expect(vi.getTimerCount()).toBe(1);
  withGC.stop();
  expect(vi.getTimerCount()).toBe(0);
});

test("the engine's full collection is available and frees unreachable memory", () => {
  const gc = engineGC();
  expect(typeof gc).toBe('function');
  let big: number[][] | undefined = Array.from({length: 200}, () =>
    new Array<number>(10_000).fill(1),
  );
  gc?.();
  const before = process.memoryUsage().heapUsed;
  expect(big.length).toBe(200);
  big = undefined;
  gc?.();
  expect(big).toBeUndefined();
  expect(process.memoryUsage().heapUsed).toBeLessThan(before - 5 * 2 ** 20);
});
