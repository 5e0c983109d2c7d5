import {afterEach, expect, test, vi} from 'vitest';
import {passwordCheck, presentedPassword} from './admin-auth.ts';
import {History, sampleHistory, type HistorySample} from './history.ts';
import {statusPage} from './status-page.ts';

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

test('the password comes as Basic (any user name) or Bearer; anything else is none', () => {
  expect(presentedPassword(basic('ops', 'p:w d'))).toBe('p:w d');
  expect(presentedPassword(basic('', 'x'))).toBe('x');
  expect(presentedPassword('Bearer s3cret')).toBe('s3cret');
  expect(presentedPassword('bearer s3cret')).toBe('s3cret');
  expect(presentedPassword(undefined)).toBeUndefined();
  expect(presentedPassword('Digest abc')).toBeUndefined();
  expect(presentedPassword(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
});

test('only the exact password passes', () => {
  const ok = passwordCheck('correct horse');
  expect(ok('Bearer correct horse')).toBe(false); // a space ends a Bearer token
  expect(ok(basic('x', 'correct horse'))).toBe(true);
  expect(ok(basic('x', 'correct hors'))).toBe(false);
  expect(ok(basic('x', 'correct horse '))).toBe(false);
  expect(ok(undefined)).toBe(false);
  const empty = passwordCheck('');
  // No Authorization header is never "the empty password".
  expect(empty(undefined)).toBe(false);
  expect(passwordCheck('tok')('Bearer tok')).toBe(true);
});

const sample = (t: number): HistorySample => ({
  t,
  connections: t,
  clientGroups: 0,
  queries: 0,
  lagMs: null,
  lagBytes: 0,
  rssBytes: 0,
});

test('the history keeps the last samples, oldest first', () => {
  const h = new History(3);
  expect(h.samples()).toEqual([]);
  for (let t = 1; t <= 5; t++) h.record(sample(t));
  expect(h.samples().map(s => s.t)).toEqual([3, 4, 5]);
  expect(() => new History(0)).toThrow(TypeError);
});

afterEach(() => {
  vi.useRealTimers();
});

test('the sampler records at once and every interval, within its window', () => {
  vi.useFakeTimers();
  let t = 0;
  const s = sampleHistory(() => sample(++t), 10_000, 30_000);
  expect(s.history.samples()).toHaveLength(1);
  vi.advanceTimersByTime(50_000);
  expect(s.history.samples().map(x => x.t)).toEqual([4, 5, 6]);
  s.stop();
  vi.advanceTimersByTime(50_000);
  expect(s.history.samples().map(x => x.t)).toEqual([4, 5, 6]);
});

test('the status page loads nothing from elsewhere and runs only its own script', () => {
  const html = statusPage('NONCE123');
  // The one URL is the SVG namespace, a name that is never fetched.
  expect([...html.matchAll(/https?:\/\/[^'"\s]*/g)].map(m => m[0])).toEqual([
    'http://www.w3.org/2000/svg',
  ]);
  expect(html.match(/<script/g)).toHaveLength(1);
  expect(html).toContain('<script nonce="NONCE123">');
  expect(html).not.toMatch(/src=|href=|@import|innerHTML/);
});
