// Shared schema and tables for the server tests: names differ between the app and Postgres.
import {createSchema, json, number, relationships, string, table} from '@zync/zql';

export const user = table('user')
  .from('users')
  .columns({id: string(), name: string().from('full_name')})
  .primaryKey('id');

export const issue = table('issue')
  .columns({
    id: string(),
    title: string(),
    ownerID: string().from('owner_id').optional(),
    created: number().optional(),
    modified: number().optional(),
    meta: json<{tags: string[]}>().optional(),
    labels: json<string[]>().optional(),
    priority: number().optional(),
    big: number().optional(),
  })
  .primaryKey('id');

export const comment = table('comment')
  .columns({id: string(), issueID: string().from('issue_id'), body: string()})
  .primaryKey('id');

export const schema = createSchema({
  tables: [user, issue, comment],
  relationships: [
    relationships(issue, ({one, many}) => ({
      owner: one({sourceField: ['ownerID'], destField: ['id'], destSchema: user}),
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
  ],
});

export const DDL = `
  CREATE TABLE users (id TEXT PRIMARY KEY, full_name TEXT NOT NULL);
  CREATE TABLE issue (id TEXT PRIMARY KEY, title TEXT NOT NULL, owner_id TEXT,
    created TIMESTAMPTZ, modified TIMESTAMP, meta JSONB, labels TEXT[], priority INT,
    big BIGINT);
  CREATE TABLE comment (id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, body TEXT NOT NULL);
`;
