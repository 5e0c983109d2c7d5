// Defined queries: the page names them with their args; the API server turns the name and
// args into the query for the caller's context (server/api-1x.ts). The args are checked by
// a Standard Schema validator (valibot) on both sides.
import * as v from 'valibot';
import {createBuilder, defineQueries, defineQuery, escapeLike} from 'zync';
import type {Context} from './schema.ts';
import {schema} from './schema.ts';

export const zql = createBuilder(schema);

export const issueFilter = v.object({
  open: v.nullable(v.boolean()),
  ownerID: v.nullable(v.string()),
  text: v.pipe(v.string(), v.maxLength(100)),
});
export type IssueFilter = v.InferOutput<typeof issueFilter>;

function mustBeLoggedIn(ctx: Context): asserts ctx is NonNullable<Context> {
  if (!ctx) throw new Error('Log in to see the issues');
}

export const queries = defineQueries({
  issues: defineQuery(issueFilter, ({args, ctx}: {args: IssueFilter; ctx: Context}) => {
    mustBeLoggedIn(ctx);
    let q = zql.issue.related('owner').orderBy('created', 'desc');
    if (args.open !== null) q = q.where('open', args.open);
    if (args.ownerID !== null) q = q.where('ownerID', args.ownerID);
    if (args.text !== '') q = q.where('title', 'ILIKE', `%${escapeLike(args.text)}%`);
    return q;
  }),
  users: defineQuery(() => zql.user.orderBy('name', 'asc')),
  /** Admins only: everyone else gets an error for this query, and no rows. */
  auditLog: defineQuery(({ctx}: {ctx: Context}) => {
    if (ctx?.role !== 'admin') throw new Error('the audit log is for admins only');
    return zql.audit.orderBy('at', 'desc').limit(50);
  }),
});
