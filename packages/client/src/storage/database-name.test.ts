import {expect, test} from 'vitest';
import {databaseName} from './database-name.ts';

test('databaseName: zync/<userID>/<storageKey>/<hash>, parts URI-encoded', () => {
  const n = databaseName({userID: 'user-123', server: 'http://localhost:4848', schemaVersion: 1});
  expect(n).toMatch(/^zync\/user-123\/\/[0-9a-f]{12}$/);
  const m = databaseName({
    userID: 'a/b c',
    storageKey: 'my app/1',
    server: 'http://localhost:4848',
    schemaVersion: 1,
  });
  expect(m).toMatch(/^zync\/a%2Fb%20c\/my%20app%2F1\/[0-9a-f]{12}$/);
  expect(m.split('/')).toHaveLength(4);
  expect(n).not.toMatch(/rep|replicache/);
});

test('databaseName: the hash depends on server and schema version only', () => {
  const base = {userID: 'u', server: 'https://a.example', schemaVersion: 1};
  const h = (p: Parameters<typeof databaseName>[0]) => databaseName(p).split('/')[3];
  expect(h(base)).toBe(h({...base, userID: 'other'}));
  expect(h(base)).toBe(h({...base, server: 'https://a.example/'}));
  expect(h(base)).not.toBe(h({...base, server: 'https://b.example'}));
  expect(h(base)).not.toBe(h({...base, schemaVersion: 2}));
  expect(h(base)).not.toBe(h({...base, server: null}));
  expect(databaseName(base)).toBe(databaseName({...base}));
  expect(databaseName({...base, storageKey: 'k'})).not.toBe(databaseName(base));
});

test('databaseName: userID is required', () => {
  expect(() => databaseName({userID: '', server: null})).toThrow(TypeError);
});
