import {expect, test} from 'vitest';
import {ManualClock} from './manual-clock.ts';

test('timers run inside advance, in due order, each at its own time; cleared ones never', () => {
  const clock = new ManualClock(100);
  const ran: [string, number][] = [];
  const at = (name: string) => () => ran.push([name, clock.now()]);
  clock.setTimeout(at('b'), 20);
  clock.setTimeout(at('a'), 10);
  clock.setTimeout(at('b2'), 20);
  const gone = clock.setTimeout(at('never'), 15);
  clock.clearTimeout(gone);
  clock.advance(19);
  expect(ran).toEqual([['a', 110]]);
  expect(clock.now()).toBe(119);
  clock.advance(1);
  expect(ran).toEqual([
    ['a', 110],
    ['b', 120],
    ['b2', 120],
  ]);
  expect(clock.pending).toBe(0);
});

test('a timer set by a timer runs in the same advance if it falls due', () => {
  const clock = new ManualClock();
  const ran: number[] = [];
  clock.setTimeout(() => {
    ran.push(clock.now());
    clock.setTimeout(() => ran.push(clock.now()), 5);
  }, 5);
  clock.advanceTo(10);
  expect(ran).toEqual([5, 10]);
  expect(() => clock.advance(-1)).toThrow(/ms must be a finite number ≥ 0/);
});
