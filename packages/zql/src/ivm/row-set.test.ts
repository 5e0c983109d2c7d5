import type {AST} from '@zync/protocol';
import {expect, test} from 'vitest';
import {buildRowSet} from './build-pipeline.ts';
import type {RowSetChange} from './row-set.ts';
import {Fixture} from './test-harness/fixture.ts';

test('row set: related and EXISTS rows enter and leave, shared rows are counted', () => {
  const f = new Fixture();
  const issue = f.table('issue', [
    {id: 1, ownerId: 10},
    {id: 2, ownerId: 10},
  ]);
  const comment = f.table('comment', [{id: 1, issueId: 1}]);
  f.table('user', [{id: 10}]);
  const ast: AST = {
    kind: 'query',
    table: 'issue',
    where: {
      kind: 'exists',
      op: 'EXISTS',
      related: {
        kind: 'correlated',
        correlation: {parentField: ['id'], childField: ['issueId']},
        subquery: {kind: 'query', table: 'comment'},
      },
    },
    related: [
      {
        kind: 'correlated',
        correlation: {parentField: ['ownerId'], childField: ['id']},
        subquery: {kind: 'query', table: 'user', alias: 'owner', one: true},
      },
    ],
  };
  const rs = buildRowSet(ast, f.ctx, {batcher: f.batcher});
  const keys = () => [...rs.rows()].map(r => `${r.table}:${String(r.row.id)}`).sort();
  expect(keys()).toEqual(['comment:1', 'issue:1', 'user:10']);
  const log: (readonly RowSetChange[])[] = [];
  rs.addListener(c => log.push(c));
  comment.add({id: 2, issueId: 2});
  expect(
    log
      .pop()
      ?.map(c => `${c.type} ${c.table}:${String(c.row.id)}`)
      .sort(),
  ).toEqual(['add comment:2', 'add issue:2']);
  issue.remove({id: 1, ownerId: 10});
  // user 10 is still the owner of issue 2: it stays.
  expect(
    log
      .pop()
      ?.map(c => `${c.type} ${c.table}:${String(c.row.id)}`)
      .sort(),
  ).toEqual(['remove comment:1', 'remove issue:1']);
  issue.edit({id: 2, ownerId: 10}, {id: 2, ownerId: 11});
  expect(
    log
      .pop()
      ?.map(c => `${c.type} ${c.table}:${String(c.row.id)}`)
      .sort(),
  ).toEqual(['edit issue:2', 'remove user:10']);
});

test('row set: a self-join that briefly holds two versions of a row keeps the newest', () => {
  const f = new Fixture();
  const issue = f.table('issue', [{id: 3, ownerId: 3, parentId: null}]);
  const ast: AST = {
    kind: 'query',
    table: 'issue',
    related: [
      {
        kind: 'correlated',
        correlation: {parentField: ['parentId'], childField: ['id']},
        subquery: {
          kind: 'query',
          table: 'issue',
          alias: 'parent',
          where: {
            kind: 'simple',
            op: '=',
            left: {kind: 'column', name: 'id'},
            right: {kind: 'column', name: 'ownerId'},
          },
        },
      },
    ],
  };
  const rs = buildRowSet(ast, f.ctx, {batcher: f.batcher});
  const edited = {id: 3, ownerId: null, parentId: 3};
  issue.edit({id: 3, ownerId: 3, parentId: null}, edited);
  expect([...rs.rows()].map(r => r.row)).toEqual([edited]);
});
