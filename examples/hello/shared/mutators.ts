// Custom mutators, shared by the client (optimistic) and the API server (authoritative).
// Ownership is checked where it counts, on the server: the client applies every edit at
// once, and an edit the server refuses is rolled back and its `server` result says why.
import type {AuthData} from './schema.ts';

type TableWriter = {
  insert(value: Record<string, unknown>): Promise<void>;
  update(value: Record<string, unknown>): Promise<void>;
  delete(value: Record<string, unknown>): Promise<void>;
};

/** What the mutators use of a transaction; client and server transactions both fit. */
export type HelloTransaction = {
  readonly location: 'client' | 'server';
  readonly mutate: {readonly issue: TableWriter; readonly audit: TableWriter};
  readonly query: {
    readonly issue: {where(column: 'id', value: string): {one(): {run(): Promise<unknown>}}};
  };
};

export type CreateIssueArgs = {id: string; title: string; created: number};
export type EditIssueArgs = {id: string; title?: string | undefined; open?: boolean | undefined};

export class DeniedError extends Error {
  override readonly name = 'DeniedError';
}

function checkTitle(title: string): string {
  const t = title.trim();
  if (t === '' || t.length > 200) throw new Error('A title needs 1 to 200 characters');
  return t;
}

async function mayChange(
  tx: HelloTransaction,
  auth: AuthData | undefined,
  id: string,
): Promise<{title: string}> {
  const row = (await tx.query.issue.where('id', id).one().run()) as
    {ownerID: string; title: string} | undefined;
  if (!row) throw new Error('That issue no longer exists');
  if (tx.location === 'server' && row.ownerID !== auth?.sub && auth?.role !== 'admin') {
    throw new DeniedError('Only the owner of an issue or an admin can change it');
  }
  return row;
}

async function record(
  tx: HelloTransaction,
  auth: AuthData | undefined,
  action: string,
  issueID: string,
  title: string,
): Promise<void> {
  // The audit trail is written by the server only: clients never hold rows they cannot read.
  if (tx.location !== 'server' || !auth) return;
  await tx.mutate.audit.insert({
    id: crypto.randomUUID(),
    at: Date.now(),
    actorID: auth.sub,
    action,
    issueID,
    title,
  });
}

export function createMutators(auth: AuthData | undefined) {
  return {
    issue: {
      async create(tx: HelloTransaction, args: CreateIssueArgs): Promise<void> {
        if (!auth) throw new DeniedError('Log in to create issues');
        const title = checkTitle(args.title);
        await tx.mutate.issue.insert({
          id: args.id,
          title,
          open: true,
          ownerID: auth.sub,
          created: args.created,
        });
        await record(tx, auth, 'create', args.id, title);
      },
      async edit(tx: HelloTransaction, args: EditIssueArgs): Promise<void> {
        const row = await mayChange(tx, auth, args.id);
        const change: Record<string, unknown> = {id: args.id};
        if (args.title !== undefined) change['title'] = checkTitle(args.title);
        if (args.open !== undefined) change['open'] = args.open;
        await tx.mutate.issue.update(change);
        await record(tx, auth, 'edit', args.id, (change['title'] as string) ?? row.title);
      },
      async remove(tx: HelloTransaction, args: {id: string}): Promise<void> {
        const row = await mayChange(tx, auth, args.id);
        await tx.mutate.issue.delete({id: args.id});
        await record(tx, auth, 'delete', args.id, row.title);
      },
    },
  };
}

export type Mutators = ReturnType<typeof createMutators>;
