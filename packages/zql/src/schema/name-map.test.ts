import {expect, test} from 'vitest';
import {createBuilder} from '../query/query-impl.ts';
import {schema} from '../../test/test-schema.ts';
import {clientToServer, mapAST, mapRow, serverToClient} from './name-map.ts';

const b = createBuilder(schema);

test('name maps follow .from()', () => {
  const m = clientToServer(schema);
  expect(m.tableName('issue')).toBe('issues');
  expect(m.columnName('issue', 'ownerID')).toBe('owner_id');
  expect(m.columnName('issue', 'title')).toBe('title');
  expect(serverToClient(schema).tableName('issue_label')).toBe('issueLabel');
  expect(() => m.tableName('issues')).toThrow(TypeError);
  expect(() => m.columnName('issue', 'owner_id')).toThrow(/unknown client column/);
});

test('mapAST renames tables and columns at every level and round-trips', () => {
  const q = b.issue
    .where('ownerID', 'u1')
    .whereExists('labels', l => l.where('name', 'bug'))
    .orderBy('ownerID', 'asc')
    .start({ownerID: 'u0', id: 'i'})
    .related('labels')
    .related('owner');
  const server = mapAST(q.ast, schema, 'server');
  expect(server.table).toBe('issues');
  expect(server.orderBy).toEqual([
    ['owner_id', 'asc'],
    ['id', 'asc'],
  ]);
  expect(server.start).toEqual({row: {owner_id: 'u0', id: 'i'}, exclusive: true});
  const where = server.where;
  expect(where).toMatchObject({
    kind: 'and',
    conditions: [
      {left: {kind: 'column', name: 'owner_id'}},
      {
        kind: 'exists',
        related: {
          correlation: {parentField: ['id'], childField: ['issue_id']},
          subquery: {
            table: 'issue_label',
            where: {related: {correlation: {parentField: ['label_id'], childField: ['id']}}},
          },
        },
      },
    ],
  });
  const labels = server.related?.[0];
  expect(labels).toMatchObject({
    hidden: true,
    subquery: {
      table: 'issue_label',
      alias: 'labels',
      orderBy: [
        ['issue_id', 'asc'],
        ['label_id', 'asc'],
      ],
      related: [
        {correlation: {parentField: ['label_id'], childField: ['id']}, subquery: {table: 'label'}},
      ],
    },
  });
  expect(server.related?.[1]).toMatchObject({
    correlation: {parentField: ['owner_id'], childField: ['id']},
  });
  expect(mapAST(server, schema, 'client')).toEqual(q.ast);
  expect(() => mapAST(server, schema, 'server')).toThrow(TypeError);
});

test('mapRow renames keys both ways', () => {
  expect(mapRow('issue', {id: 'i', ownerID: 'u'}, schema, 'server')).toEqual({
    id: 'i',
    owner_id: 'u',
  });
  expect(mapRow('issues', {id: 'i', owner_id: 'u'}, schema, 'client')).toEqual({
    id: 'i',
    ownerID: 'u',
  });
  expect(() => mapRow('issue', {nope: 1}, schema, 'server')).toThrow(TypeError);
});
