// Rule shapes that apps written for Zero use must type-check unchanged.
import {expect, test} from 'vitest';
import type {ExpressionBuilder} from '../query/expression.ts';
import {schema, type TestSchema} from '../../test/test-schema.ts';
import {bindPermissions} from './bind.ts';
import {ANYONE_CAN, definePermissions, NOBODY_CAN} from './define.ts';

type AuthData = {sub: string};

// One rule for every table (zbugs style) and one for a single table (hello-zero style).
const allowIfLoggedIn = (
  authData: AuthData,
  {cmpLit}: ExpressionBuilder<TestSchema, keyof TestSchema['tables']>,
) => cmpLit(authData.sub, 'IS NOT', null);
const allowIfOwner = (authData: AuthData, {cmp}: ExpressionBuilder<TestSchema, 'issue'>) =>
  cmp('ownerID', '=', authData.sub);

const permissions = definePermissions<AuthData, TestSchema>(schema, () => ({
  issue: {
    row: {
      select: ANYONE_CAN,
      insert: [allowIfLoggedIn, allowIfOwner],
      update: {preMutation: [allowIfOwner], postMutation: NOBODY_CAN},
      delete: NOBODY_CAN,
    },
  },
  user: {row: {select: [allowIfLoggedIn]}},
}));

test('zbugs/hello-zero style rules type-check and bind', async () => {
  const bound = bindPermissions(await permissions, {sub: 'u1'});
  expect(bound.insertCondition('issue')).toEqual({kind: 'and', conditions: []});
  expect(bound.updatePreCondition('issue')).toMatchObject({op: '=', right: {value: 'u1'}});
});
