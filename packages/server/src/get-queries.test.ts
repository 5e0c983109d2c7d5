import {createBuilder, syncedQuery, withValidation} from '@zync/zql';
import {describe, expect, test} from 'vitest';
import {handleGetQueriesRequest} from './get-queries.ts';
import {schema} from '../test/fixture.ts';

const builder = createBuilder(schema);
const byOwner = syncedQuery(
  'byOwner',
  (args: unknown[]) => {
    if (typeof args[0] !== 'string') throw new TypeError('owner must be a string');
    return args as [string];
  },
  (owner: string) => builder.issue.where('ownerID', owner).related('comments'),
);

const validated = {byOwner: withValidation(byOwner)};

async function resolve(name: string, args: readonly unknown[]) {
  if (name === 'boom') throw new Error('not allowed');
  if (name === 'slow') {
    // Resolved on a later turn of the event loop than the others.
    await new Promise(r => setImmediate(r));
    return {query: builder.user};
  }
  if (name !== 'byOwner') return undefined;
  return {query: validated.byOwner({}, ...(args as never[]))};
}

describe('handleGetQueriesRequest', () => {
  test('resolves queries to ASTs in server names; errors stay per query', async () => {
    const res = await handleGetQueriesRequest(resolve, schema, [
      'transform',
      [
        {id: 'h1', name: 'byOwner', args: ['u1']},
        {id: 'h2', name: 'nope', args: []},
        {id: 'h3', name: 'byOwner', args: [42]},
        {id: 'h4', name: 'boom', args: []},
        {id: 'h5', name: 'slow', args: []},
      ],
    ]);
    if (!Array.isArray(res)) throw new Error('expected a transformed response');
    const [tag, results] = res;
    expect(tag).toBe('transformed');
    const first = results[0] as {ast: {table: string; where: unknown; related: unknown[]}};
    expect(first).toMatchObject({id: 'h1', name: 'byOwner'});
    expect(first.ast.table).toBe('issue');
    expect(JSON.stringify(first.ast.where)).toContain('"owner_id"');
    expect(JSON.stringify(first.ast.related)).toContain('"issue_id"');
    expect(results[1]).toEqual({
      error: 'app',
      id: 'h2',
      name: 'nope',
      details: 'unknown query name',
    });
    expect(results[2]).toEqual({
      error: 'app',
      id: 'h3',
      name: 'byOwner',
      details: 'owner must be a string',
    });
    expect(results[3]).toEqual({error: 'app', id: 'h4', name: 'boom', details: 'not allowed'});
    expect(results[4]).toMatchObject({id: 'h5', ast: {table: 'users'}});
  });

  test('accepts a bare list and a Fetch Request', async () => {
    const bare = await handleGetQueriesRequest(resolve, schema, [
      {id: 'a', name: 'slow', args: []},
    ]);
    expect(bare).toMatchObject(['transformed', [{id: 'a'}]]);
    const req = new Request('http://api/get-queries', {
      method: 'POST',
      body: JSON.stringify(['transform', [{id: 'b', name: 'byOwner', args: ['u2']}]]),
    });
    expect(await handleGetQueriesRequest(resolve, schema, req)).toMatchObject([
      'transformed',
      [{id: 'b', ast: {table: 'issue'}}],
    ]);
  });

  test('malformed requests give a structured error without echoing input', async () => {
    const secret = 'secret-token-value';
    for (const body of [null, 5, {x: secret}, ['transform', [{id: 1, name: secret}]], [secret]]) {
      const res = await handleGetQueriesRequest(resolve, schema, body as never);
      expect(res).toMatchObject({error: 'http', status: 400});
      expect(JSON.stringify(res)).not.toContain(secret);
    }
    const notJSON = new Request('http://api/q', {method: 'POST', body: '{'});
    expect(await handleGetQueriesRequest(resolve, schema, notJSON)).toMatchObject({
      error: 'http',
    });
  });

  test('args that are not an array and resolvers returning non-queries are per-query errors', async () => {
    const res = await handleGetQueriesRequest(
      name => (name === 'odd' ? {query: 42} : {query: builder.user}),
      schema,
      [
        {id: 'x', name: 'ok', args: 'nope'},
        {id: 'y', name: 'odd', args: []},
      ] as never,
    );
    expect(res).toEqual([
      'transformed',
      [
        {error: 'app', id: 'x', name: 'ok', details: 'bad args: args must be an array'},
        {error: 'zero', id: 'y', name: 'odd', details: 'the resolver did not return a query'},
      ],
    ]);
  });
});
