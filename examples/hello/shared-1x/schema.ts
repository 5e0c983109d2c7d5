// The hello app's data model for its Zero 1.x form: the same tables as shared/schema.ts,
// with the legacy API turned off. The client can then only read through the defined
// queries of queries.ts and write through the defined mutators of mutators.ts, which the
// API server runs for the user of the session cookie. No permission rules: zero-cache
// runs with ZERO_LEGACY_API=false and never sees raw queries or CRUD writes.
import {createSchema} from 'zync';
import type {Role} from '../shared/schema.ts';
import {audit, issue, issueRelationships, user} from '../shared/schema.ts';

export const schema = createSchema({
  tables: [user, issue, audit],
  relationships: [issueRelationships],
  enableLegacyQueries: false,
  enableLegacyMutators: false,
});

export type Schema = typeof schema;

/**
 * Who is asking, as both sides see it: the page passes it to ZeroProvider (for optimistic
 * runs), the API server computes it per request from the session cookie (authoritative).
 * `undefined` when logged out.
 */
export type Context = {userID: string; role: Role} | undefined;
