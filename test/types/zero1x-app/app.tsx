// A Zero 1.x app, written as its docs show, with the import prefix replaced by `zync`.
// Type-checked on its own (the DefaultTypes augmentation below is program-wide).
import type {StandardSchemaV1} from '@zync/zql';
import {
  createBuilder,
  createSchema,
  defineMutator,
  defineMutators,
  defineQueries,
  defineQuery,
  mustGetMutator,
  mustGetQuery,
  number,
  string,
  table,
  Zero,
} from 'zync';
import {useQuery, ZeroProvider} from 'zync/react';

export const schema = createSchema({
  tables: [
    table('message').columns({id: string(), body: string(), votes: number()}).primaryKey('id'),
  ],
});
export type AuthCtx = {userID: string};

declare module 'zync' {
  interface DefaultTypes {
    schema: typeof schema;
    context: AuthCtx;
  }
}

const zql = createBuilder(schema);

/** What a zod object schema of `{limit: number}` offers, written out. */
const feedArgs = {} as StandardSchemaV1<{limit: number}>;

export const queries = defineQueries({
  messages: {
    feed: defineQuery(feedArgs, ({args, ctx}) => {
      const n: number = args.limit;
      const who: string = ctx.userID;
      // @ts-expect-error the registered context has no such field
      void ctx.nope;
      return zql.message.where('id', who).limit(n);
    }),
    all: defineQuery(() => zql.message.orderBy('votes', 'desc')),
  },
});

export const mutators = defineMutators({
  message: {
    insert: defineMutator(
      {} as StandardSchemaV1<{id: string; body: string}>,
      async ({tx, args, ctx}) => {
        const mine: string = ctx.userID;
        // @ts-expect-error the registered context has no such field
        void ctx.nope;
        await tx.mutate.message.insert({id: args.id, body: `${args.body}/${mine}`, votes: 0});
        const rows = await tx.run(zql.message.where('id', args.id));
        const votes: number | undefined = rows[0]?.votes;
        void votes;
        // @ts-expect-error not a table of the registered schema
        // eslint-disable-next-line @typescript-eslint/no-unsafe-call -- the expected type error
        await tx.mutate.nope.insert({id: 'x'});
      },
    ),
  },
});

export function Feed() {
  const [rows] = useQuery(queries.messages.feed({limit: 10}));
  const first: string | undefined = rows[0]?.body;
  // @ts-expect-error the args of a defined query are checked
  useQuery(queries.messages.feed({limit: 'ten'}));
  return first ?? null;
}

export function App() {
  return (
    <ZeroProvider
      cacheURL="http://localhost:4848"
      userID={null}
      schema={schema}
      mutators={mutators}
      context={{userID: 'u'}}
    >
      <Feed />
    </ZeroProvider>
  );
}

export async function usesZero() {
  const zero = new Zero({cacheURL: null, schema, mutators, context: {userID: 'u'}});
  const r = zero.mutate(mutators.message.insert({id: 'a', body: 'b'}));
  const outcome = await r.server;
  if (outcome.type === 'error') console.log(outcome.error.message);
  const all = await zero.run(queries.messages.all());
  const body: string | undefined = all[0]?.body;
  // @ts-expect-error a mutator request needs its args
  mutators.message.insert();
  mustGetQuery(queries, 'messages.feed');
  mustGetMutator(mutators, 'message.insert');
  return body;
}
