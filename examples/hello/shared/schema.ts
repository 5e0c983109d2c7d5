// The hello app's data model: users, their issues, and an audit trail only admins may read.
// zero-cache loads this file through ZERO_SCHEMA_PATH (schema + permissions); the client
// and the API server import it too.
import type {ExpressionBuilder, Row} from 'zync';
import {
  ANYONE_CAN,
  boolean,
  createSchema,
  definePermissions,
  enumeration,
  number,
  relationships,
  string,
  table,
} from 'zync';

export type Role = 'admin' | 'member';

export const user = table('user')
  .from('users')
  .columns({id: string(), name: string(), role: enumeration<Role>()})
  .primaryKey('id');

export const issue = table('issue')
  .columns({
    id: string(),
    title: string(),
    open: boolean(),
    ownerID: string().from('owner_id'),
    created: number(),
  })
  .primaryKey('id');

export const audit = table('audit')
  .columns({
    id: string(),
    at: number(),
    actorID: string().from('actor_id'),
    action: string(),
    issueID: string().from('issue_id'),
    title: string(),
  })
  .primaryKey('id');

export const issueRelationships = relationships(issue, ({one}) => ({
  owner: one({sourceField: ['ownerID'], destField: ['id'], destSchema: user}),
}));

export const schema = createSchema({
  tables: [user, issue, audit],
  relationships: [issueRelationships],
});

export type Schema = typeof schema;
export type User = Row<typeof schema.tables.user>;
export type Issue = Row<typeof schema.tables.issue>;
export type AuditEntry = Row<typeof schema.tables.audit>;

/** The claims the app puts in its tokens (and the session the cookie mode carries). */
export type AuthData = {sub: string; role: Role};

const isLoggedIn = (auth: AuthData, {cmpLit}: ExpressionBuilder<Schema, 'issue'>) =>
  cmpLit(auth.sub, 'IS NOT', null);
const isOwner = (auth: AuthData, {cmp}: ExpressionBuilder<Schema, 'issue'>) =>
  cmp('ownerID', '=', auth.sub);
const isIssueAdmin = (auth: AuthData, {cmpLit}: ExpressionBuilder<Schema, 'issue'>) =>
  cmpLit(auth.role, '=', 'admin');
const isAuditAdmin = (auth: AuthData, {cmpLit}: ExpressionBuilder<Schema, 'audit'>) =>
  cmpLit(auth.role, '=', 'admin');

// Enforced by zero-cache when it verifies tokens (secret and jwks modes): select rules filter
// every query, synced ones included; write rules check CRUD writes. The app itself writes
// through custom mutators, which check the same ownership rule on the API server.
export const permissions = definePermissions<AuthData, Schema>(schema, () => ({
  user: {row: {select: ANYONE_CAN}},
  issue: {
    row: {
      select: [isLoggedIn],
      insert: [isOwner],
      update: {preMutation: [isOwner, isIssueAdmin], postMutation: [isOwner, isIssueAdmin]},
      delete: [isOwner, isIssueAdmin],
    },
  },
  audit: {row: {select: [isAuditAdmin]}},
}));
