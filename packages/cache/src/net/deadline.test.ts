import {afterEach, expect, test, vi} from 'vitest';
import {OutboundError, withDeadline} from './deadline.ts';

afterEach(() => {
  vi.useRealTimers();
});

test('settles at the deadline even when the work ignores its abort signal', async () => {
  vi.useFakeTimers();
  let seen: AbortSignal | undefined;
  const p = withDeadline(1_000, signal => {
    seen = signal;
    return new Promise<never>(() => {});
  });
  const outcome = p.catch((e: unknown) => e);
  await vi.advanceTimersByTimeAsync(999);
  expect(seen?.aborted).toBe(false);
  await vi.advanceTimersByTimeAsync(1);
  const err = await outcome;
  expect(err).toBeInstanceOf(OutboundError);
  expect((err as OutboundError).kind).toBe('timeout');
  expect(seen?.aborted).toBe(true);
});

test('work that finishes first wins, and its signal is released', async () => {
  let seen: AbortSignal | undefined;
  const value = await withDeadline(1_000, signal => {
    seen = signal;
    return Promise.resolve(42);
  });
  expect(value).toBe(42);
  expect(seen?.aborted).toBe(true);
});

test.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])(
  'a timeout of %s is refused with a clear error',
  async ms => {
    await expect(withDeadline(ms, () => Promise.resolve(1))).rejects.toThrow(
      /timeoutMs must be a positive number/,
    );
  },
);
