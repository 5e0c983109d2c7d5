import {expect, test} from 'vitest';
import {parseConfig} from '../config/parse-config.ts';
import {numSyncWorkers, routedGroupID, workerIndexFor} from './routing.ts';

test('the clientGroupID URL parameter, and nothing else, names the group', () => {
  expect(routedGroupID('/sync/v1/connect?clientGroupID=g1&clientID=c')).toBe('g1');
  expect(routedGroupID('/sync/v1/connect?clientID=c&clientGroupID=a%20b')).toBe('a b');
  expect(routedGroupID('/sync/v1/connect')).toBeNull();
  expect(routedGroupID('/sync/v1/connect?clientGroupID=')).toBeNull();
  expect(routedGroupID('/sync/v1/connect?auth=g1')).toBeNull();
  expect(routedGroupID(undefined)).toBeNull();
});

test('a group always maps to the same worker, and groups spread over all workers', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    const w = workerIndexFor(`group-${i}`, 3);
    expect(workerIndexFor(`group-${i}`, 3)).toBe(w);
    counts[w]!++;
  }
  for (const c of counts) expect(c).toBeGreaterThan(800);
  expect(workerIndexFor('anything', 1)).toBe(0);
});

test('the default number of workers is the cores minus one, at least one', () => {
  expect(numSyncWorkers(4)).toBe(4);
  expect(numSyncWorkers(undefined)).toBeGreaterThanOrEqual(1);
});

test('ZERO_NUM_SYNC_WORKERS must be a positive integer, and says so', () => {
  const base = {ZERO_UPSTREAM_DB: 'postgres://h/db'};
  expect(parseConfig({...base, ZERO_NUM_SYNC_WORKERS: '3'}).numSyncWorkers).toBe(3);
  expect(parseConfig(base).numSyncWorkers).toBeUndefined();
  for (const bad of ['0', '-1', '1.5', 'two']) {
    expect(() => parseConfig({...base, ZERO_NUM_SYNC_WORKERS: bad})).toThrow(
      `ZERO_NUM_SYNC_WORKERS must be a positive integer, got "${bad}"`,
    );
  }
});
