// Real `Zero` clients in this Node process (ws as the WebSocket, in-memory stores), and the
// benchmark schema. The schema's table names depend on the table sizes chosen at run time,
// so the clients are driven through the small structural types below.
import {Zero} from '@zync/client';
import {createSchema, number, string, table} from '@zync/zql';
import type {Schema} from '@zync/zql';
import {WebSocket} from 'ws';

(globalThis as {WebSocket?: unknown}).WebSocket = WebSocket;

export type Row = Record<string, unknown>;
export type Listener = (data: readonly Row[], resultType: string) => void;
export type View = {
  readonly data: readonly Row[];
  readonly resultType: string;
  addListener(fn: Listener): () => void;
  destroy(): void;
};
export type Query = {
  where(column: string, value: unknown): Query;
  limit(n: number): Query;
  materialize(): View;
};
type Result = {client: Promise<unknown>; server: Promise<{type: string}>};
type Crud = {
  insert(row: Row): Result;
  update(row: Row): Result;
  upsert(row: Row): Result;
  delete(row: Row): Result;
};
export type Client = {
  readonly query: Record<string, Query>;
  readonly mutate: Record<string, Crud> & {ops: {bump(a: {id: string}): Result}};
  run(q: Query, o: {type: 'complete'}): Promise<readonly Row[]>;
  close(): Promise<void>;
};

export function sizedTable(rows: number): string {
  return `rows_${rows}`;
}

export function benchSchema(sizes: readonly number[]): Schema {
  const sized = sizes.map(n =>
    table(sizedTable(n))
      .columns({id: number(), owner: number(), title: string(), score: number()})
      .primaryKey('id'),
  );
  return createSchema({
    tables: [
      ...sized,
      table('fan')
        .columns({id: number(), owner: number(), title: string(), score: number()})
        .primaryKey('id'),
      table('hot').columns({id: number(), v: number()}).primaryKey('id'),
      table('item').columns({id: string(), title: string(), votes: number()}).primaryKey('id'),
    ],
  });
}

type Tx = {mutate: {item: {update(v: Row): Promise<void>}}};

/** Client side of the custom mutator: a guess that the server's result replaces. */
export const clientMutators = {
  ops: {
    bump: async (tx: Tx, {id}: {id: string}) => {
      await tx.mutate.item.update({id, votes: -1});
    },
  },
};

export type ServerTx = {
  query: {item: {where(c: string, v: string): {one(): {run(): Promise<unknown>}}}};
  mutate: {item: {update(v: Row): Promise<void>}};
};

/** Server side, run by the API server's PushProcessor inside a Postgres transaction. */
export const serverMutators = {
  ops: {
    bump: async (tx: ServerTx, {id}: {id: string}) => {
      const row = (await tx.query.item.where('id', id).one().run()) as {votes: number};
      await tx.mutate.item.update({id, votes: row.votes + 1});
    },
  },
};

let seq = 0;

/** A new client group every time (a fresh userID means a fresh in-memory store). */
export function newClient(server: string, schema: Schema, tag: string): Client {
  return new Zero({
    server,
    userID: `${tag}-${process.pid}-${seq++}`,
    schema,
    kvStore: 'mem',
    mutators: clientMutators as never,
  }) as unknown as Client;
}

/** Resolves with the time at which `pred` first holds for the view's data. */
export function when(view: View, pred: (data: readonly Row[], rt: string) => boolean) {
  return new Promise<number>(resolve => {
    const box: {done: boolean; off?: () => void} = {done: false};
    box.off = view.addListener((data, rt) => {
      if (box.done || !pred(data, rt)) return;
      box.done = true;
      const t = performance.now();
      // The listener may fire inside addListener, before `off` is known.
      queueMicrotask(() => box.off?.());
      resolve(t);
    });
  });
}

export const complete = (view: View) => when(view, (_d, rt) => rt === 'complete');
