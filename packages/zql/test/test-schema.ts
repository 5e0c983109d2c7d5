// A small schema shared by the zql tests: users, issues (server names differ), labels
// through a junction, comments.
import {boolean, enumeration, json, number, string} from '../src/schema/column.ts';
import {relationships} from '../src/schema/relationships.ts';
import {createSchema} from '../src/schema/schema.ts';
import {table} from '../src/schema/table.ts';

export const user = table('user')
  .columns({
    id: string(),
    name: string(),
    role: enumeration<'admin' | 'member'>(),
    orgID: string().optional(),
  })
  .primaryKey('id');

export const issue = table('issue')
  .from('issues')
  .columns({
    id: string(),
    title: string(),
    open: boolean(),
    ownerID: string().from('owner_id'),
    orgID: string(),
    priority: number().optional(),
    meta: json<{tags: string[]}>().optional(),
    created: number(),
  })
  .primaryKey('id');

export const label = table('label').columns({id: string(), name: string()}).primaryKey('id');

export const issueLabel = table('issueLabel')
  .from('issue_label')
  .columns({issueID: string().from('issue_id'), labelID: string().from('label_id')})
  .primaryKey('issueID', 'labelID');

export const comment = table('comment')
  .columns({id: string(), issueID: string(), body: string(), authorID: string()})
  .primaryKey('id');

const issueRels = relationships(issue, ({one, many}) => ({
  owner: one({sourceField: ['ownerID'], destField: ['id'], destSchema: user}),
  comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
  labels: many(
    {sourceField: ['id'], destField: ['issueID'], destSchema: issueLabel},
    {sourceField: ['labelID'], destField: ['id'], destSchema: label},
  ),
}));

const commentRels = relationships(comment, ({one}) => ({
  author: one({sourceField: ['authorID'], destField: ['id'], destSchema: user}),
  issue: one({sourceField: ['issueID'], destField: ['id'], destSchema: issue}),
}));

const userRels = relationships(user, ({many}) => ({
  ownedIssues: many({sourceField: ['id'], destField: ['ownerID'], destSchema: issue}),
}));

export const schema = createSchema({
  tables: [user, issue, label, issueLabel, comment],
  relationships: [issueRels, commentRels, userRels],
});

export type TestSchema = typeof schema;
