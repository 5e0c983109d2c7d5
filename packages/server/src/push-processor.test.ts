import {expect, test} from 'vitest';
import {PushProcessor} from './push-processor.ts';
import type {Database, TransactionProviderHooks} from './zql-database.ts';

type FakeTx = {readonly log: string[]};

/** A database whose lmid starts at `start` and whose bump fails from call `failAt` on. */
function fakeDB(start: number, failAt = Infinity): Database<FakeTx> & {lmid: number} {
  let calls = 0;
  const db = {
    lmid: start,
    async transaction<R>(
      cb: (tx: FakeTx, hooks: TransactionProviderHooks) => Promise<R>,
    ): Promise<R> {
      let next = db.lmid;
      const hooks: TransactionProviderHooks = {
        updateClientMutationID: () => {
          if (++calls >= failAt) return Promise.reject(new Error('connection reset'));
          next = db.lmid + 1;
          return Promise.resolve({lastMutationID: BigInt(next)});
        },
      };
      const r = await cb({log: []}, hooks);
      db.lmid = next;
      return r;
    },
  };
  return db;
}

const push = (ids: number[]) => ({
  clientGroupID: 'g',
  pushVersion: 1,
  timestamp: 1,
  requestID: 'r',
  mutations: ids.map(id => ({id, clientID: 'c', name: 'm', args: [], timestamp: 1})),
});

test('a database failure outside the mutator stops processing without an app error', async () => {
  const db = fakeDB(0, 2);
  const res = await new PushProcessor(db).process(
    {m: async () => {}},
    {appID: 'a'},
    push([1, 2, 3]),
  );
  expect(res).toEqual({mutations: [{id: {id: 1, clientID: 'c'}, result: {}}]});
  expect(db.lmid).toBe(1);
});

test('works with any Database implementation (bigint lmids)', async () => {
  const db = fakeDB(1);
  const res = await new PushProcessor(db).process({m: async () => {}}, {appID: 'a'}, push([1, 2]));
  expect(res).toMatchObject({
    mutations: [{result: {error: 'alreadyProcessed'}}, {result: {}}],
  });
  expect(db.lmid).toBe(2);
});
