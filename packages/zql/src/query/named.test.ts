import {expect, test} from 'vitest';
import {createBuilder} from './query-impl.ts';
import {syncedQuery, syncedQueryWithContext, withValidation} from './named.ts';
import {schema} from '../../test/test-schema.ts';

const b = createBuilder(schema);

const parse = (args: unknown[]): [string] => {
  if (typeof args[0] !== 'string') throw new TypeError('owner must be a string');
  return [args[0]];
};

test('a synced query tags its query with {name, args}', () => {
  const byOwner = syncedQuery('byOwner', parse, (owner: string) => b.issue.where('ownerID', owner));
  const q = byOwner('u1');
  expect(q.customQueryID).toEqual({name: 'byOwner', args: ['u1']});
  expect(q.ast.where).toMatchObject({right: {kind: 'literal', value: 'u1'}});
  expect(byOwner.queryName).toBe('byOwner');
  expect(byOwner.takesContext).toBe(false);
});

test('withContext passes the context first; withValidation parses args', () => {
  const mine = syncedQueryWithContext('mine', parse, (ctx: {sub: string}, owner: string) =>
    b.issue.where('ownerID', ctx.sub === owner ? owner : '-'),
  );
  expect(mine({sub: 'u1'}, 'u1').customQueryID).toEqual({name: 'mine', args: ['u1']});
  const checked = withValidation(mine);
  expect(checked({sub: 'u1'}, 'u1').ast).toEqual(mine({sub: 'u1'}, 'u1').ast);
  expect(() => checked({sub: 'u1'}, 5)).toThrow(/owner must be a string/);
  const plain = withValidation(syncedQuery('p', parse, (o: string) => b.issue.where('ownerID', o)));
  expect(plain(undefined, 'x').customQueryID).toEqual({name: 'p', args: ['x']});
  expect(() => withValidation(syncedQuery('n', undefined, () => b.issue))).toThrow(TypeError);
});
