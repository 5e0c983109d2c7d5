import {expect, test} from 'vitest';
import {canTransition, ConnectionStateStore} from './connection-state.ts';

test('closed is terminal', () => {
  const s = new ConnectionStateStore({name: 'connecting'});
  expect(s.set({name: 'closed'})).toBe(true);
  expect(s.set({name: 'connecting'})).toBe(false);
  expect(s.current.name).toBe('closed');
});

test('listeners see each change once, with its reason', () => {
  const s = new ConnectionStateStore({name: 'connecting'});
  const seen: string[] = [];
  const unsub = s.subscribe(x => seen.push(`${x.name}:${x.reason ?? ''}`));
  s.set({name: 'connected'});
  s.set({name: 'connected'});
  s.set({name: 'needs-auth', reason: 'AuthInvalidated: expired'});
  unsub();
  s.set({name: 'connecting'});
  expect(seen).toEqual(['connected:', 'needs-auth:AuthInvalidated: expired']);
});

test('transition table', () => {
  expect(canTransition('needs-auth', 'connected')).toBe(false);
  expect(canTransition('needs-auth', 'connecting')).toBe(true);
  expect(canTransition('error', 'connected')).toBe(false);
  expect(canTransition('disconnected', 'connecting')).toBe(true);
});
