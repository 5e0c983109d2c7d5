import {afterEach, expect, test, vi} from 'vitest';
import {StepActivity} from './step-activity.ts';

afterEach(() => {
  vi.useRealTimers();
});

test('idle() resolves when the last running step ends, or after the maximum wait', async () => {
  vi.useFakeTimers();
  const a = new StepActivity();
  let done = false;
  await a.idle(1000).then(() => (done = true));
  expect(done).toBe(true); // nothing running: at once

  a.begin();
  a.begin();
  let first = false;
  void a.idle(10_000).then(() => (first = true));
  a.end();
  await vi.advanceTimersByTimeAsync(0);
  expect(first).toBe(false);
  a.end();
  await vi.advanceTimersByTimeAsync(0);
  expect(first).toBe(true);
  expect(a.busy).toBe(false);

  // Never starved: a step that does not end releases the waiter after maxWaitMs.
  a.begin();
  let second = false;
  void a.idle(500).then(() => (second = true));
  await vi.advanceTimersByTimeAsync(499);
  expect(second).toBe(false);
  await vi.advanceTimersByTimeAsync(1);
  expect(second).toBe(true);
  a.end();
  expect(vi.getTimerCount()).toBe(0);
});
