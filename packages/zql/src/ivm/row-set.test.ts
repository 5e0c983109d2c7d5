import type {AST} from '@zync/protocol';
import {expect, test} from 'vitest';
import {buildRowSet} from './build-pipeline.ts';
import type {RowSetChange} from './row-set.ts';
import {Fixture} from '../../test/ivm-harness/fixture.ts';

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

test('row set: rows of a serverOnly EXISTS decide membership but never enter the set', () => {
  const f = new Fixture();
  const comment = f.table('comment', [
    {id: 1, docId: 1},
    {id: 2, docId: 2},
  ]);
  const doc = f.table('doc', [
    {id: 1, ownerId: 10},
    {id: 2, ownerId: 20},
  ]);
  const docExists = (serverOnly: boolean): AST['where'] => ({
    kind: 'exists',
    op: 'EXISTS',
    related: {
      kind: 'correlated',
      correlation: {parentField: ['docId'], childField: ['id']},
      subquery: {
        kind: 'query',
        table: 'doc',
        where: {
          kind: 'simple',
          op: '=',
          left: {kind: 'column', name: 'ownerId'},
          right: {kind: 'literal', value: 10},
        },
      },
      ...(serverOnly ? {serverOnly: true} : {}),
    },
  });
  const ast: AST = {kind: 'query', table: 'comment', where: docExists(true)};
  const rs = buildRowSet(ast, f.ctx, {batcher: f.batcher});
  // The same EXISTS asked for by a query itself keeps its rows.
  const own = buildRowSet({...ast, where: docExists(false)}, f.ctx, {batcher: f.batcher});
  const keys = (s: typeof rs) => [...s.rows()].map(r => `${r.table}:${String(r.row.id)}`).sort();
  expect(keys(rs)).toEqual(['comment:1']);
  expect(keys(own)).toEqual(['comment:1', 'doc:1']);
  const log: string[][] = [];
  rs.addListener(c => log.push(c.map(x => `${x.type} ${x.table}:${String(x.row.id)}`).sort()));
  // doc 2 now passes: its comment enters, the doc does not.
  doc.edit({id: 2, ownerId: 20}, {id: 2, ownerId: 10});
  expect(log.pop()).toEqual(['add comment:2']);
  // An edit of a doc that keeps passing changes nothing in the set.
  doc.edit({id: 1, ownerId: 10}, {id: 1, ownerId: 10, title: 'x'});
  expect(log).toEqual([]);
  comment.add({id: 3, docId: 1});
  expect(log.pop()).toEqual(['add comment:3']);
  doc.remove({id: 1, ownerId: 10, title: 'x'});
  expect(log.pop()).toEqual(['remove comment:1', 'remove comment:3']);
  expect(keys(rs)).toEqual(['comment:2']);
  expect(keys(own)).toEqual(['comment:2', 'doc:2']);
});
