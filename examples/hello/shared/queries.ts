// Synced queries: the client names them, the API server resolves them for the caller.
import {createBuilder, escapeLike, syncedQuery, syncedQueryWithContext} from 'zync';
import type {AuthData} from './schema.ts';
import {schema} from './schema.ts';

let builder = createBuilder(schema);

/**
 * Builds the synced queries on `zero.query` in the browser. Zero lets `useQuery` take
 * queries made with `createBuilder`; zync's `useQuery` currently needs a query that came
 * from `zero.query` (it calls `query.materialize()`), so the client rebinds the builder.
 * The server keeps the plain builder: it only needs the AST.
 */
export function bindQueryBuilder(b: ReturnType<typeof createBuilder<typeof schema>>): void {
  builder = b;
}

export type IssueFilter = {open: boolean | null; ownerID: string | null; text: string};

function parseFilter(args: unknown[]): [IssueFilter] {
  const f = args[0] as Partial<IssueFilter> | undefined;
  if (typeof f !== 'object' || f === null) throw new Error('filter must be an object');
  const open = f.open ?? null;
  const ownerID = f.ownerID ?? null;
  const text = f.text ?? '';
  if (open !== null && typeof open !== 'boolean') throw new Error('open must be a boolean');
  if (ownerID !== null && typeof ownerID !== 'string') throw new Error('ownerID must be a string');
  if (typeof text !== 'string' || text.length > 100) throw new Error('text must be a short string');
  return [{open, ownerID, text}];
}

function noArgs(): [] {
  return [];
}

export const issues = syncedQuery('issues', parseFilter, (filter: IssueFilter) => {
  let q = builder.issue.related('owner').orderBy('created', 'desc');
  if (filter.open !== null) q = q.where('open', filter.open);
  if (filter.ownerID !== null) q = q.where('ownerID', filter.ownerID);
  if (filter.text !== '') q = q.where('title', 'ILIKE', `%${escapeLike(filter.text)}%`);
  return q;
});

export const users = syncedQuery('users', noArgs, () => builder.user.orderBy('name', 'asc'));

/**
 * The admin-only audit trail. The resolver refuses non-admins, and in the modes where
 * zero-cache verifies tokens the `audit` select rule filters it again.
 */
export const auditLog = syncedQueryWithContext('auditLog', noArgs, (auth: AuthData | undefined) => {
  if (auth?.role !== 'admin') throw new Error('the audit log is for admins only');
  return builder.audit.orderBy('at', 'desc').limit(50);
});
