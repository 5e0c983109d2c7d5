import {describe, expect, test} from 'vitest';
import {FALSE, isAlwaysTrue} from '../query/condition.ts';
import {createBuilder} from '../query/query-impl.ts';
import type {ExpressionBuilder} from '../query/expression.ts';
import {schema, type TestSchema} from '../../test/test-schema.ts';
import {bindPermissions} from './bind.ts';
import {columnReferences} from './column-refs.ts';
import {ANYONE_CAN, definePermissions, NOBODY_CAN} from './define.ts';

type Claims = {sub?: string};
type EB = ExpressionBuilder<TestSchema, 'issue'>;

describe('definePermissions: cell rules', () => {
  test('are kept per column and bound to one condition per column and action', async () => {
    const defined = await definePermissions<Claims, TestSchema>(schema, () => ({
      issue: {
        cell: {
          title: {select: [(a, {cmp}: EB) => cmp('ownerID', a.sub ?? '')], insert: NOBODY_CAN},
          priority: {update: {postMutation: ANYONE_CAN}},
        },
      },
    }));
    const bound = bindPermissions(defined, {sub: 'u1'});
    expect(bound.cellColumns('issue', 'select')).toEqual(['title']);
    expect(bound.cellColumns('issue', 'update.postMutation')).toEqual(['priority']);
    expect(bound.cellColumns('issue', 'delete')).toEqual([]);
    expect(bound.cellCondition('issue', 'title', 'select')).toEqual({
      kind: 'simple',
      op: '=',
      left: {kind: 'column', name: 'ownerID'},
      right: {kind: 'literal', value: 'u1'},
    });
    expect(bound.cellCondition('issue', 'title', 'insert')).toEqual(FALSE);
    expect(isAlwaysTrue(bound.cellCondition('issue', 'priority', 'update.postMutation')!)).toBe(
      true,
    );
    // No policy for the action: no restriction of the cell's own.
    expect(bound.cellCondition('issue', 'title', 'delete')).toBeUndefined();
    expect(bound.cellCondition('issue', 'open', 'select')).toBeUndefined();
    // The row rules are not changed by cell rules.
    expect(bound.selectCondition('issue')).toEqual(FALSE);
  });

  test('refuse unknown columns, non-rule policies and select rules on a primary key', async () => {
    await expect(
      definePermissions(schema, () => ({issue: {cell: {nope: {select: ANYONE_CAN}} as never}})),
    ).rejects.toThrow('definePermissions: issue.cell names unknown column "nope"');
    await expect(
      definePermissions(schema, () => ({issue: {cell: {title: {insert: [1]}} as never}})),
    ).rejects.toThrow('definePermissions: issue.cell.title.insert must be an array of rules');
    await expect(
      definePermissions(schema, () => ({issue: {cell: {id: {select: ANYONE_CAN}}}})),
    ).rejects.toThrow(/issue\.cell\.id\.select restricts a primary key column/);
    // Other actions on a primary key column are fine.
    await expect(
      definePermissions(schema, () => ({issue: {cell: {id: {insert: ANYONE_CAN}}}})),
    ).resolves.toBeDefined();
  });
});

describe('columnReferences', () => {
  const q = createBuilder(schema);
  test('lists filtered, ordered, cursor and join columns at every level', () => {
    const ast = q.issue
      .where('title', 'x')
      .orderBy('created', 'desc')
      .start({created: 1, id: 'i'})
      .whereExists('comments', c => c.where('body', 'LIKE', '%a%'))
      .related('labels', l => l.where('name', 'bug')).ast;
    const refs = columnReferences(ast).map(r => `${r.table}.${r.column}`);
    expect(refs.sort()).toEqual(
      [
        'issue.title',
        'issue.created',
        'issue.id',
        'comment.issueID',
        'comment.body',
        'comment.id',
        'issueLabel.issueID',
        'issueLabel.labelID',
        'label.id',
        'label.name',
      ].sort(),
    );
  });
});
