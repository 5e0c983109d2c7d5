// Defined mutators, run by the page (optimistically, with the context it was given) and by
// the API server (authoritatively, with the context of the session cookie). Ownership is
// checked on the server: an edit it refuses is rolled back on the page, and the `server`
// result carries the reason.
import * as v from 'valibot';
import type {Transaction} from 'zync';
import {defineMutator, defineMutators} from 'zync';
import {zql} from './queries.ts';
import type {Context, Schema} from './schema.ts';

type Tx = Transaction<Schema>;

const createArgs = v.object({id: v.string(), title: v.string(), created: v.number()});
const editArgs = v.object({
  id: v.string(),
  title: v.optional(v.string()),
  open: v.optional(v.boolean()),
});
const removeArgs = v.object({id: v.string()});
type CreateArgs = v.InferOutput<typeof createArgs>;
type EditArgs = v.InferOutput<typeof editArgs>;
type RemoveArgs = v.InferOutput<typeof removeArgs>;

function checkTitle(title: string): string {
  const t = title.trim();
  if (t === '' || t.length > 200) throw new Error('A title needs 1 to 200 characters');
  return t;
}

async function mayChange(tx: Tx, ctx: Context, id: string): Promise<{title: string}> {
  const row = await tx.run(zql.issue.where('id', id).one());
  if (!row) throw new Error('That issue no longer exists');
  if (tx.location === 'server' && row.ownerID !== ctx?.userID && ctx?.role !== 'admin') {
    throw new Error('Only the owner of an issue or an admin can change it');
  }
  return row;
}

/** The audit trail is written by the server only: pages never hold rows they cannot read. */
async function record(tx: Tx, ctx: Context, action: string, issueID: string, title: string) {
  if (tx.location !== 'server' || !ctx) return;
  await tx.mutate.audit.insert({
    id: crypto.randomUUID(),
    at: Date.now(),
    actorID: ctx.userID,
    action,
    issueID,
    title,
  });
}

// Without a DefaultTypes augmentation (it would apply to the whole repository's program),
// each definition names its schema and context.
export const mutators = defineMutators({
  issue: {
    create: defineMutator<CreateArgs, CreateArgs, Schema, Context>(
      createArgs,
      async ({tx, args, ctx}) => {
        if (!ctx) throw new Error('Log in to create issues');
        const title = checkTitle(args.title);
        await tx.mutate.issue.insert({
          id: args.id,
          title,
          open: true,
          ownerID: ctx.userID,
          created: args.created,
        });
        await record(tx, ctx, 'create', args.id, title);
      },
    ),
    edit: defineMutator<EditArgs, EditArgs, Schema, Context>(editArgs, async ({tx, args, ctx}) => {
      const row = await mayChange(tx, ctx, args.id);
      const title = args.title === undefined ? undefined : checkTitle(args.title);
      await tx.mutate.issue.update({
        id: args.id,
        ...(title === undefined ? {} : {title}),
        ...(args.open === undefined ? {} : {open: args.open}),
      });
      await record(tx, ctx, 'edit', args.id, title ?? row.title);
    }),
    remove: defineMutator<RemoveArgs, RemoveArgs, Schema, Context>(
      removeArgs,
      async ({tx, args, ctx}) => {
        const row = await mayChange(tx, ctx, args.id);
        await tx.mutate.issue.delete({id: args.id});
        await record(tx, ctx, 'delete', args.id, row.title);
      },
    ),
  },
});

export type Mutators = typeof mutators;
