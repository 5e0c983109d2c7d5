import {expect, test} from 'vitest';
import {handleMutateRequest} from './mutate-request.ts';
import type {Database, TransactionProviderHooks} from './zql-database.ts';

/** A database whose last-mutation-id update fails from the second transaction on. */
function failingDB(): Database<object> {
  let calls = 0;
  let lmid = 0;
  return {
    async transaction<R>(cb: (tx: object, hooks: TransactionProviderHooks) => Promise<R>) {
      const hooks: TransactionProviderHooks = {
        updateClientMutationID: () =>
          ++calls >= 2
            ? Promise.reject(new Error('connection reset; row secret-row-content'))
            : Promise.resolve({lastMutationID: ++lmid}),
      };
      return cb({}, hooks);
    },
  };
}

test('a database failure stops the push and leaves the rest pending, without its text', async () => {
  const res = await handleMutateRequest({
    dbProvider: failingDB(),
    handler: transact => transact(() => Promise.resolve()),
    query: {appID: 'app'},
    body: {
      clientGroupID: 'g',
      pushVersion: 1,
      timestamp: 1,
      requestID: 'r',
      mutations: [1, 2, 3].map(id => ({
        type: 'custom',
        id,
        clientID: 'c',
        name: 'a.b',
        args: [],
        timestamp: 1,
      })),
    },
    userID: 'u',
  });
  expect(res).toMatchObject({
    kind: 'PushFailed',
    origin: 'server',
    reason: 'database',
    mutationIDs: [
      {id: 2, clientID: 'c'},
      {id: 3, clientID: 'c'},
    ],
  });
  expect(JSON.stringify(res)).not.toContain('secret-row-content');
});

test('misuse throws a TypeError at once', async () => {
  await expect(
    handleMutateRequest({
      dbProvider: {} as never,
      handler: t => t(() => Promise.resolve()),
      query: {},
      body: {},
      userID: 'u',
    }),
  ).rejects.toThrow(TypeError);
});
